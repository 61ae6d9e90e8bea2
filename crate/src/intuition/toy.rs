//! The two classes of 2-D points of the Intuition step: two interleaving half-moons, each point
//! stored as a two-"pixel" image (x, y on the 0-255 scale), so the lab's model, pushing and
//! unlearning service handle them as they handle CIFAR images.

use rand::Rng as _;
use rand_distr::{Distribution, Normal};

use crate::data::{Dataset, ImageShape};
use crate::rng;

/// The shape of a point: two channels (x, y) of one pixel.
pub const POINT: ImageShape = ImageShape {
    channels: 2,
    height: 1,
    width: 1,
};

/// The class forgotten (A) and the other one (B).
pub const CLASSES: [&str; 2] = ["A", "B"];

/// `per_class` seeded points of each class: A the upper moon, B the lower one, with Gaussian
/// noise of 0.12 moon radii; `name` names the stream (train, validation...).
pub fn moons(per_class: usize, seed: u64, name: &str) -> Dataset {
    let mut r = rng::stream(seed, &format!("intuition/{name}"));
    let noise = Normal::new(0.0, 0.12).expect("a valid deviation");
    let mut images = Vec::with_capacity(2 * per_class * POINT.len());
    let mut labels = Vec::with_capacity(2 * per_class);
    for k in 0..2 * per_class {
        let class = (k % 2) as u16;
        let t = r.random_range(0.0..std::f64::consts::PI);
        let (x, y) = match class {
            0 => (t.cos(), t.sin()),
            _ => (1.0 - t.cos(), 0.5 - t.sin()),
        };
        let (x, y) = (x + noise.sample(&mut r), y + noise.sample(&mut r));
        images.extend([to_pixel(x, -1.5, 2.5), to_pixel(y, -1.0, 1.5)]);
        labels.push(class);
    }
    Dataset {
        class_names: CLASSES.iter().map(|c| c.to_string()).collect(),
        shape: POINT,
        images,
        labels,
    }
}

/// `v` on `[lo, hi]` as a pixel value (clamped).
fn to_pixel(v: f64, lo: f64, hi: f64) -> u8 {
    ((v - lo) / (hi - lo) * 255.0).round().clamp(0.0, 255.0) as u8
}

/// The centres of a `side` x `side` grid over the plane, row by row from the top (y = 255) and
/// each row from the left, as points.
pub fn grid(side: usize) -> Vec<u8> {
    let at = |k: usize| ((k as f64 + 0.5) * 256.0 / side as f64 - 0.5).round() as u8;
    (0..side)
        .flat_map(|row| (0..side).flat_map(move |col| [at(col), 255 - at(row)]))
        .collect()
}
