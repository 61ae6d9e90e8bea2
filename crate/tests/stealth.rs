//! Stealth measures of crafted images.

use overunlearn::data::ImageShape;
use overunlearn::metrics::stealth::{Stealth, ssim};

const SHAPE: ImageShape = ImageShape {
    channels: 3,
    height: 16,
    width: 16,
};

fn image(seed: u32) -> Vec<u8> {
    (0..SHAPE.len() as u32)
        .map(|i| ((i * 37 + seed * 101) % 200 + 20) as u8)
        .collect()
}

#[test]
fn identical_images_are_perfectly_similar_and_at_distance_zero() {
    let a = image(1);
    let s = Stealth::measure(&a, &a, SHAPE);
    assert_eq!((s.l2, s.linf), (0.0, 0.0));
    assert!((s.ssim - 1.0).abs() < 1e-12);
}

#[test]
fn distances_are_on_unit_pixels_and_ssim_falls_with_noise() {
    let a = image(1);
    let mut b = a.clone();
    b[0] += 51; // 0.2 on [0, 1]
    b[5] -= 10;
    let s = Stealth::measure(&a, &b, SHAPE);
    assert!((s.linf - 0.2).abs() < 1e-12);
    let expected_l2 = (0.2f64.powi(2) + (10.0f64 / 255.0).powi(2)).sqrt();
    assert!((s.l2 - expected_l2).abs() < 1e-12);
    let mut c = a.clone();
    for (i, p) in c.iter_mut().enumerate() {
        *p = p.wrapping_add(if i % 2 == 0 { 15 } else { 241 });
    }
    let (small, large) = (ssim(&a, &b, SHAPE), ssim(&a, &c, SHAPE));
    assert!(1.0 > small && small > large, "{small} {large}");
    assert!(
        (ssim(&a, &c, SHAPE) - ssim(&c, &a, SHAPE)).abs() < 1e-12,
        "symmetric"
    );
}
