//! How close a crafted image is to its original: l2 and l-infinity distances (on pixels scaled
//! to [0, 1]) and SSIM (Wang et al. 2004: 7x7 uniform windows, K1 0.01, K2 0.03, data range 1,
//! averaged over channels, as scikit-image computes it).

use serde::{Deserialize, Serialize};

use crate::data::ImageShape;

/// Distances between a crafted image and its original.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stealth {
    /// Euclidean distance of the [0, 1]-scaled pixels.
    pub l2: f64,
    /// Largest absolute pixel difference, in [0, 1].
    pub linf: f64,
    /// Structural similarity, 1 for identical images.
    pub ssim: f64,
}

impl Stealth {
    /// Measures `crafted` against `original` (both CHW bytes of `shape`).
    pub fn measure(original: &[u8], crafted: &[u8], shape: ImageShape) -> Self {
        let (mut l2, mut linf) = (0.0f64, 0.0f64);
        for (&a, &b) in original.iter().zip(crafted) {
            let d = (f64::from(a) - f64::from(b)).abs() / 255.0;
            l2 += d * d;
            linf = linf.max(d);
        }
        Self {
            l2: l2.sqrt(),
            linf,
            ssim: ssim(original, crafted, shape),
        }
    }
}

/// Mean SSIM over channels of two CHW byte images.
pub fn ssim(a: &[u8], b: &[u8], shape: ImageShape) -> f64 {
    const WIN: usize = 7;
    let (h, w) = (shape.height, shape.width);
    if h < WIN || w < WIN {
        return if a == b { 1.0 } else { 0.0 };
    }
    let (c1, c2) = ((0.01f64).powi(2), (0.03f64).powi(2));
    let n = (WIN * WIN) as f64;
    // Sample covariances, as scikit-image does by default.
    let cov_norm = n / (n - 1.0);
    let plane = h * w;
    let mut total = 0.0;
    for c in 0..shape.channels {
        let (pa, pb) = (
            &a[c * plane..(c + 1) * plane],
            &b[c * plane..(c + 1) * plane],
        );
        let mut sum = 0.0;
        let mut count = 0usize;
        // Windows fully inside the image (scikit-image crops the border of half a window).
        for r in 0..=h - WIN {
            for x in 0..=w - WIN {
                let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
                for dr in 0..WIN {
                    for dx in 0..WIN {
                        let i = (r + dr) * w + x + dx;
                        let (va, vb) = (f64::from(pa[i]) / 255.0, f64::from(pb[i]) / 255.0);
                        sa += va;
                        sb += vb;
                        saa += va * va;
                        sbb += vb * vb;
                        sab += va * vb;
                    }
                }
                let (ma, mb) = (sa / n, sb / n);
                let va = cov_norm * (saa / n - ma * ma);
                let vb = cov_norm * (sbb / n - mb * mb);
                let cab = cov_norm * (sab / n - ma * mb);
                sum += ((2.0 * ma * mb + c1) * (2.0 * cab + c2))
                    / ((ma * ma + mb * mb + c1) * (va + vb + c2));
                count += 1;
            }
        }
        total += sum / count as f64;
    }
    total / shape.channels as f64
}
