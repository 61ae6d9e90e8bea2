//! The feature plane the results draw class A's test images in.

use overunlearn::metrics::features::Plane;

#[test]
fn the_feature_plane_keeps_the_two_directions_of_largest_spread() {
    // Points spread 10 along (1, 1, 0)/sqrt2, 3 along z and 0.1 along (1, -1, 0)/sqrt2.
    let mut rows = Vec::new();
    for k in 0..200 {
        let (t, u, w) = (
            (k % 20) as f32 - 9.5,
            (k / 20) as f32 - 4.5,
            ((k * 7) % 3) as f32 - 1.0,
        );
        let (a, b) = (t * 10.0 / 9.5, u * 3.0 / 4.5);
        let r = std::f32::consts::FRAC_1_SQRT_2;
        rows.extend([a * r + 0.1 * w * r, a * r - 0.1 * w * r, b]);
    }
    let plane = Plane::fit(&rows, 3);
    let points = plane.project(&rows);
    let spread = |axis: usize| {
        let m = points.iter().map(|p| p[axis]).sum::<f32>() / points.len() as f32;
        (points.iter().map(|p| (p[axis] - m).powi(2)).sum::<f32>() / points.len() as f32).sqrt()
    };
    assert!(
        spread(0) > 5.5 && (1.5..2.5).contains(&spread(1)),
        "{} {}",
        spread(0),
        spread(1)
    );
    // (Standard deviations 6.07 and 1.91 for these grids.) The first axis is (1, 1, 0)/sqrt2: a point moved along it moves along the first axis only.
    let r = std::f32::consts::FRAC_1_SQRT_2;
    let moved = plane.project(&[rows[0] + r, rows[1] + r, rows[2]]);
    assert!(
        (moved[0][0] - points[0][0] - 1.0).abs() < 1e-3,
        "{:?}",
        moved
    );
    assert!((moved[0][1] - points[0][1]).abs() < 1e-3);
}
