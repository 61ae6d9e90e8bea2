//! How honest users' uploads differ from the service's copy: re-encoded as JPEG (through the
//! `image` crate's encoder and decoder), as a phone or a web form would.

use image::ImageEncoder;
use image::codecs::jpeg::JpegEncoder;

use crate::data::{Dataset, ImageShape};
use crate::error::{Error, Result};
use crate::unlearn::Request;

/// The normal `request` as honest users upload it: each image re-encoded as JPEG at `quality`.
pub fn request(request: &Request, train: &Dataset, quality: u8) -> Result<Request> {
    let images = request
        .submitted
        .images
        .chunks(train.shape.len())
        .map(|image| jpeg(image, train.shape, quality))
        .collect::<Result<Vec<_>>>()?;
    let labels = request.submitted.labels.clone();
    Ok(Request::new(train, &request.sources, images, labels))
}

/// `chw` (planar 8-bit RGB of `shape`) encoded as JPEG at `quality` (1-100) and decoded again.
pub fn jpeg(chw: &[u8], shape: ImageShape, quality: u8) -> Result<Vec<u8>> {
    let (h, w, c) = (shape.height, shape.width, shape.channels);
    if c != 3 || chw.len() != shape.len() {
        return Err(Error::config(
            "reencode",
            format!("{c}-channel {h}x{w} images: JPEG re-encoding takes RGB"),
        ));
    }
    let plane = h * w;
    let rgb: Vec<u8> = (0..plane)
        .flat_map(|p| (0..3).map(move |k| chw[k * plane + p]))
        .collect();
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100))
        .write_image(&rgb, w as u32, h as u32, image::ExtendedColorType::Rgb8)
        .map_err(|e| Error::config("reencode", format!("JPEG encoding failed: {e}")))?;
    let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .map_err(|e| Error::config("reencode", format!("JPEG decoding failed: {e}")))?
        .to_rgb8();
    let rgb = decoded.as_raw();
    Ok((0..3)
        .flat_map(|k| (0..plane).map(move |p| rgb[p * 3 + k]))
        .collect())
}
