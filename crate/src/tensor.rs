//! Reading tensors back to the host, through the async API so that it works on every backend,
//! in browsers too (model files, evaluation, the attacks' oracle and training statistics).

use burn::prelude::*;

use crate::error::{Error, Result};

/// Reads a float tensor back to the host.
pub async fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>> {
    let data = tensor.into_data_async().await.map_err(read_error)?;
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(read_error)
}

/// Reads an int tensor back to the host.
pub async fn read_i64<const D: usize>(tensor: Tensor<D, Int>) -> Result<Vec<i64>> {
    let data = tensor.into_data_async().await.map_err(read_error)?;
    data.convert::<i64>()
        .try_into_vec::<i64>()
        .map_err(read_error)
}

fn read_error(e: impl std::fmt::Debug) -> Error {
    Error::backend("read-back", format!("{e:?}"))
}
