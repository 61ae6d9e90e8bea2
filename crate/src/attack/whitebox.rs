//! The white-box reference: the margin's exact gradient with respect to the input, through
//! autodiff. It needs the model's weights, which a real attacker does not have.

use burn::prelude::*;

use super::oracle::Oracle;
use super::push::Goal;
use crate::error::Result;
use crate::model::{Cnn, input};
use crate::tensor::read_f32;

/// The model prepared for input gradients (inference mode, autodiff device).
#[derive(Debug, Clone)]
pub struct WhiteBox {
    net: Cnn,
    device: Device,
}

impl WhiteBox {
    /// Prepares `model`.
    pub fn new(model: &Cnn) -> Self {
        let device = model.device();
        Self {
            net: model.differentiable(&device),
            device: device.autodiff(),
        }
    }

    /// The margin at `x` (CHW in [0, 1]) and its gradient with respect to `x`. Charged to
    /// `oracle` as one query.
    pub async fn margin_gradient(
        &self,
        oracle: &mut Oracle,
        x: &[f32],
        label: u16,
        goal: Goal,
    ) -> Result<(f64, Vec<f64>)> {
        oracle.charge(1);
        let input = input::unit_tensor(x.to_vec(), oracle.shape(), &self.device).require_grad();
        let log_p = burn::tensor::activation::log_softmax(
            self.net.forward(input::from_unit(input.clone())),
            1,
        );
        let classes = oracle.classes();
        let one_hot = |k: u16| {
            let mut v = vec![0.0f32; classes];
            v[k as usize] = 1.0;
            Tensor::<2>::from_data(TensorData::new(v, [1, classes]), &self.device)
        };
        // max over the classes other than k: push k far down before taking the max.
        let best_other = |k: u16| (log_p.clone() - one_hot(k).mul_scalar(1e9)).max_dim(1);
        let pick = |k: u16| (log_p.clone() * one_hot(k)).sum_dim(1);
        let margin = match goal {
            Goal::Untargeted => pick(label) - best_other(label),
            Goal::Targeted(b) => best_other(b) - pick(b),
        };
        let grads = margin.clone().backward();
        let g = input
            .grad(&grads)
            .expect("the input takes part in the margin");
        let m = read_f32(margin.inner()).await?[0];
        let g = read_f32(g).await?.into_iter().map(f64::from).collect();
        Ok((f64::from(m), g))
    }
}
