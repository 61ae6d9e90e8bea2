//! The Intuition step's core: 2-D points, the dense network, pushing and the service.

mod common;

use burn::prelude::Device;
use overunlearn::intuition::{SIDE, Toy, toy};

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    pollster::block_on(f)
}

fn toy(seed: u64) -> Toy {
    common::seeded(|| block(Toy::new(seed, &Device::flex())).unwrap())
}

#[test]
fn a_pushed_request_takes_far_more_of_class_a_than_a_normal_one() {
    let toy = toy(0);
    let ready = toy.ready();
    assert!(
        ready.pushed >= 140,
        "pushed {} of {}",
        ready.pushed,
        ready.class_a
    );
    // The page's defaults: 10% of class A, tau 0.01 (measured: normal 4% of A's region lost,
    // Pushing-I 45%, Pushing-II 49%).
    let scene = block(toy.scene(10.0, 0.01)).unwrap();
    assert_eq!(scene.size, 15);
    assert_eq!(scene.before.len(), SIDE * SIDE);
    let attacks: Vec<&str> = scene.pictures.iter().map(|p| p.attack.as_str()).collect();
    assert_eq!(attacks, ["normal", "pushing_i", "pushing_ii"]);
    let [normal, pushing_i, pushing_ii] = &scene.pictures[..] else {
        unreachable!()
    };
    assert!(normal.lost < 0.1, "{}", normal.lost);
    assert!(
        pushing_i.lost > normal.lost + 0.25,
        "{} vs {}",
        pushing_i.lost,
        normal.lost
    );
    assert!(pushing_ii.lost > normal.lost + 0.25, "{}", pushing_ii.lost);
    assert!(pushing_i.accuracy_a < normal.accuracy_a - 0.25);
    // The normal request submits the training points themselves; the pushed ones moved them.
    for p in &scene.pictures {
        assert_eq!(p.submitted.len(), 2 * scene.size);
        assert_eq!(p.probability_a.len(), SIDE * SIDE);
    }
    assert_ne!(pushing_i.submitted, normal.submitted);
    // More of the class, or a larger step, takes more of its region.
    let larger = block(toy.scene(50.0, 0.01)).unwrap();
    assert!(larger.pictures[1].lost >= pushing_i.lost);
}

#[test]
fn the_same_seed_draws_the_same_scene_and_bad_settings_are_named() {
    let (a, b) = (toy(3), toy(3));
    let scene = |t: &Toy| block(t.scene(20.0, 0.003)).unwrap();
    let (x, y) = (scene(&a), scene(&b));
    assert_eq!(x.before, y.before);
    for (p, q) in x.pictures.iter().zip(&y.pictures) {
        assert_eq!(
            (&p.probability_a, &p.submitted),
            (&q.probability_a, &q.submitted)
        );
    }
    let e = block(a.scene(0.0, 0.01)).unwrap_err().to_string();
    assert!(e.contains("percent") && e.contains("(0, 100]"), "{e}");
    let e = block(a.scene(10.0, f64::NAN)).unwrap_err().to_string();
    assert!(e.contains("tau"), "{e}");
}

#[test]
fn the_points_are_two_moons_on_the_pixel_scale_and_the_grid_covers_the_plane() {
    let points = toy::moons(100, 1, "train");
    assert_eq!(points.len(), 200);
    assert_eq!(points.shape.len(), 2);
    let mean_y = |class: u16| {
        let ys: Vec<f64> = (0..points.len())
            .filter(|&i| points.labels[i] == class)
            .map(|i| f64::from(points.image(i)[1]))
            .collect();
        ys.iter().sum::<f64>() / ys.len() as f64
    };
    assert!(mean_y(0) > mean_y(1) + 40.0, "A is the upper moon");
    let grid = toy::grid(SIDE);
    assert_eq!(grid.len(), 2 * SIDE * SIDE);
    assert_eq!(
        (grid[0], grid[1]),
        (2, 253),
        "the first cell is the top left one"
    );
    let last = grid.len() - 2;
    assert_eq!((grid[last], grid[last + 1]), (253, 2));
}
