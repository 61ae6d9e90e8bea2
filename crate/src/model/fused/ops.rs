//! The fused training kernels ([`super::training`]) as operations of burn's CPU backend, with
//! their gradients: a backend extension (burn's `extension` feature) implemented for `Flex` and
//! `Autodiff<Flex>`, reached through burn's `Dispatch` from plain tensors. The network calls
//! them only when its tensors live on flex ([`crate::model::Cnn::features`]); the wgpu backend
//! keeps burn's generic ops.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;

use burn::module::RunningState;
use burn::nn::BatchNorm;

use super::norm;
use super::training::{self, ConvShape};

/// The channels-last operations the network trains with on the CPU.
#[backend_extension(Autodiff, Flex)]
pub trait ChannelsLast: Backend {
    /// `relu(conv3x3(x, weight) + bias)`, same padding, stride 1: `x` is `[images, height,
    /// width, c_in]`, `weight` burn's `[c_out, c_in, 3, 3]`, `bias` `[c_out]`.
    fn conv3x3_relu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// 2x2 max-pooling with stride 2 of `[images, height, width, channels]`.
    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// Each channel's mean and biased variance over the rows of `x` (`[rows, channels]`), as
    /// `[2, channels]`. Not differentiated: [`Self::batch_norm_train`] differentiates through
    /// the statistics it is given.
    fn channel_moments(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// Batch-norm in training mode of `x` (`[rows, channels]`) with `moments`, the batch's own
    /// [`Self::channel_moments`]: its gradient counts the statistics' dependence on `x`.
    fn batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        moments: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;
}

/// [`ChannelsLast::conv3x3_relu`] on tensors (channels-last, on flex).
pub fn conv3x3_relu(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as ChannelsLast>::conv3x3_relu(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    ))
}

/// [`ChannelsLast::max_pool2x2`] on tensors (channels-last, on flex).
pub fn max_pool2x2(x: Tensor<4>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as ChannelsLast>::max_pool2x2(x.into_dispatch()))
}

/// Batch-norm of channels-last activations viewed as `[rows, channels]`: burn's
/// `BatchNorm::forward` (the batch's statistics and running statistics updated when training
/// on an autodiff device, the running ones otherwise), with the training statistics reduced
/// over the rows as they lie instead of through two transposes.
pub fn batch_norm(norm: &BatchNorm, x: Tensor<2>) -> Tensor<2> {
    if !(x.device().is_autodiff() && norm.training.val().is_enabled()) {
        return norm.forward(x);
    }
    let [_, c] = x.dims();
    let moments = Tensor::<2>::from_dispatch(<Dispatch as ChannelsLast>::channel_moments(
        x.clone().into_dispatch(),
    ));
    let y = Tensor::from_dispatch(<Dispatch as ChannelsLast>::batch_norm_train(
        x.into_dispatch(),
        norm.gamma.val().into_dispatch(),
        norm.beta.val().into_dispatch(),
        moments.clone().into_dispatch(),
        norm.epsilon,
    ));
    // The running statistics move as burn's batch-norm moves them.
    let update = |state: &RunningState<Tensor<1>>, batch: Tensor<2>| {
        let batch = batch.reshape([c]).detach();
        let running = state.value_sync().to_device(&batch.device());
        state.update(
            running
                .mul_scalar(1.0 - norm.momentum)
                .add(batch.mul_scalar(norm.momentum))
                .detach(),
        );
    };
    update(&norm.running_mean, moments.clone().slice([0..1, 0..c]));
    update(&norm.running_var, moments.slice([1..2, 0..c]));
    settle_running_stats(norm);
    y
}

/// Settles the running statistics `norm`'s last forward pass updated, so that the next pass
/// reads them on whatever thread it runs. burn keeps each thread's update apart until that
/// thread's next read, and averages the updates of different threads; a training step may run
/// on any of rayon's threads (`crate::parallel::with_helpers`). Settling on the updating
/// thread gives the numbers that thread's next read would have given (its one update, divided
/// by one).
pub(crate) fn settle_running_stats(norm: &BatchNorm) {
    norm.running_mean.value_sync();
    norm.running_var.value_sync();
}

/// `tensor` laid out contiguously (a copy only when it is not).
fn contiguous(tensor: FlexTensor) -> FlexTensor {
    if tensor.as_slice::<f32>().is_some() {
        tensor
    } else {
        tensor.to_contiguous()
    }
}

/// The values of a contiguous f32 tensor.
fn values(tensor: &FlexTensor) -> &[f32] {
    tensor
        .as_slice::<f32>()
        .expect("the fused ops run on contiguous f32 tensors")
}

/// A flex tensor of `shape` holding `values`.
fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// A tensor's 4 dimensions.
fn dims4(tensor: &FlexTensor) -> [usize; 4] {
    let shape = tensor.layout().shape();
    assert_eq!(
        shape.num_dims(),
        4,
        "a channels-last batch has 4 dimensions"
    );
    [shape[0], shape[1], shape[2], shape[3]]
}

/// A tensor's 2 dimensions.
fn dims2(tensor: &FlexTensor) -> [usize; 2] {
    let shape = tensor.layout().shape();
    assert_eq!(shape.num_dims(), 2, "batch-norm's view has 2 dimensions");
    [shape[0], shape[1]]
}

/// The layer's shapes from its input and weight.
fn conv_shape(x: &FlexTensor, weight: &FlexTensor) -> ConvShape {
    let [images, height, width, c_in] = dims4(x);
    let [c_out, w_in, kh, kw] = dims4(weight);
    assert_eq!(
        [w_in, kh, kw],
        [c_in, 3, 3],
        "a 3x3 kernel over the input's channels"
    );
    ConvShape {
        images,
        height,
        width,
        c_in,
        c_out,
    }
}

impl ChannelsLast for Flex {
    fn conv3x3_relu(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        let (x, weight, bias) = (contiguous(x), contiguous(weight), contiguous(bias));
        let s = conv_shape(&x, &weight);
        let y = training::conv_relu(values(&x), values(&weight), values(&bias), s);
        tensor(y, [s.images, s.height, s.width, s.c_out])
    }

    fn max_pool2x2(x: FlexTensor) -> FlexTensor {
        let x = contiguous(x);
        let dims @ [images, height, width, c] = dims4(&x);
        tensor(
            training::max_pool(values(&x), dims),
            [images, height / 2, width / 2, c],
        )
    }

    fn channel_moments(x: FlexTensor) -> FlexTensor {
        let x = contiguous(x);
        let [_, c] = dims2(&x);
        tensor(norm::moments(values(&x), c), [2, c])
    }

    fn batch_norm_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        moments: FlexTensor,
        epsilon: f64,
    ) -> FlexTensor {
        let (x, gamma, beta, moments) = (
            contiguous(x),
            contiguous(gamma),
            contiguous(beta),
            contiguous(moments),
        );
        let y = norm::normalise(
            values(&x),
            values(&gamma),
            values(&beta),
            values(&moments),
            epsilon,
        );
        tensor(y, dims2(&x))
    }
}

/// A backward step's parents (their ids), its output's gradient and its state.
fn unpack<S, const N: usize>(
    ops: Ops<S, N>,
    grads: &mut Gradients,
) -> ([Option<NodeId>; N], FlexTensor, S) {
    let dy = contiguous(grads.consume::<Flex>(&ops.node));
    (ops.parents.map(|p| p.map(|n| n.id)), dy, ops.state)
}

/// Hands `grad` to the parent `node` when it takes part in the graph.
fn register(grads: &mut Gradients, node: Option<NodeId>, grad: Option<FlexTensor>) {
    if let (Some(node), Some(grad)) = (node, grad) {
        grads.register::<Flex>(node, grad);
    }
}

/// The convolution's backward step: its state is the input, the weight and the output.
#[derive(Debug)]
struct ConvBackward;

impl Backward<Flex, 3> for ConvBackward {
    type State = (FlexTensor, FlexTensor, FlexTensor);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let ([x_node, weight_node, bias_node], dy, (x, weight, y)) = unpack(ops, grads);
        let s = conv_shape(&x, &weight);
        let g = training::conv_relu_backward(
            values(&x),
            values(&weight),
            values(&y),
            values(&dy),
            s,
            x_node.is_some(),
        );
        let dx = g
            .input
            .map(|dx| tensor(dx, [s.images, s.height, s.width, s.c_in]));
        register(grads, x_node, dx);
        let weight = tensor(g.weight, [s.c_out, s.c_in, 3, 3]);
        register(grads, weight_node, Some(weight));
        register(grads, bias_node, Some(tensor(g.bias, [s.c_out])));
    }
}

/// The pooling's backward step: its state is the input.
#[derive(Debug)]
struct PoolBackward;

impl Backward<Flex, 1> for PoolBackward {
    type State = FlexTensor;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let ([x_node], dy, x) = unpack(ops, grads);
        let dims = dims4(&x);
        let dx = training::max_pool_backward(values(&x), values(&dy), dims);
        register(grads, x_node, Some(tensor(dx, dims)));
    }
}

/// The training batch-norm's backward step: its state is the input, gamma, the moments and
/// epsilon.
#[derive(Debug)]
struct NormBackward;

impl Backward<Flex, 3> for NormBackward {
    type State = (FlexTensor, FlexTensor, FlexTensor, f64);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let ([x_node, gamma_node, beta_node], dy, (x, gamma, moments, epsilon)) =
            unpack(ops, grads);
        let (dx, dgamma, dbeta) = norm::normalise_backward(
            values(&x),
            values(&gamma),
            values(&moments),
            epsilon,
            values(&dy),
        );
        let c = dgamma.len();
        register(grads, x_node, Some(tensor(dx, dims2(&x))));
        register(grads, gamma_node, Some(tensor(dgamma, [c])));
        register(grads, beta_node, Some(tensor(dbeta, [c])));
    }
}

/// No backward step: the statistics are differentiated through the batch-norm that uses them.
#[derive(Debug)]
struct Untracked;

impl Backward<Flex, 0> for Untracked {
    type State = ();

    fn backward(self, _: Ops<(), 0>, _: &mut Gradients, _: &mut Checkpointer) {}
}

impl<C: CheckpointStrategy> ChannelsLast for Autodiff<Flex, C> {
    fn channel_moments(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let kind = Untracked.prepare::<C>([]).compute_bound().stateful();
        finish(kind, (), Flex::channel_moments(x.into_primitive()))
    }

    fn batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        moments: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        let kind = NormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful();
        let moments = contiguous(moments.into_primitive());
        let x = contiguous(x.into_primitive());
        let gamma = contiguous(gamma.into_primitive());
        let beta = beta.into_primitive();
        let y = Flex::batch_norm_train(x.clone(), gamma.clone(), beta, moments.clone(), epsilon);
        finish(kind, (x, gamma, moments, epsilon), y)
    }

    fn conv3x3_relu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let kind = ConvBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful();
        let x = contiguous(x.into_primitive());
        let weight = contiguous(weight.into_primitive());
        let y = Flex::conv3x3_relu(x.clone(), weight.clone(), bias.into_primitive());
        finish(kind, (x, weight, y.clone()), y)
    }

    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let kind = PoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful();
        let x = contiguous(x.into_primitive());
        let y = Flex::max_pool2x2(x.clone());
        finish(kind, x, y)
    }
}

/// The output `y` of an operation, with `state` kept for its backward step when the graph
/// tracks it (state holds tensors by reference count: dropped untouched otherwise).
fn finish<BO, S, C, const N: usize>(
    kind: OpsKind<BO, Flex, S, C, N>,
    state: S,
    y: FlexTensor,
) -> FloatTensor<Autodiff<Flex, C>>
where
    BO: Backward<Flex, N, State = S>,
    S: Clone + Send + std::fmt::Debug + 'static,
    C: CheckpointStrategy,
{
    match kind {
        OpsKind::Tracked(prep) => prep.finish(state, y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}
