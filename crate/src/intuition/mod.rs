//! The idea in two dimensions (the page's "0 · Intuition" step): two classes of 2-D points, a
//! small dense network trained on them in well under a second, every class-A training point
//! pushed to the boundary once, and then, for any request size and tau, the decision regions
//! after a normal, a Pushing-I and a Pushing-II request, each through the same first-order
//! service the real model meets. With two classes a targeted push is the untargeted one.
//!
//! Nothing here is an imitation: the points are two-"pixel" images ([`toy`]), the network is a
//! [`ModelConfig`] without conv blocks, and the pushing and the update are the lab's own.

pub mod toy;

use std::ops::ControlFlow;

use burn::prelude::Device;
use serde::Serialize;

use crate::attack::oracle::Oracle;
use crate::attack::request::{self, Pushed, Side, SubmittedLabel};
use crate::attack::search::{Goal, PushConfig, Search, WalkConfig};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::input::unit_pixels;
use crate::model::{Init, ModelConfig, NormSettings, Trained};
use crate::rng;
use crate::train::{Optimizer, TrainConfig};
use crate::unlearn::first_order::{FirstOrderConfig, ServiceKind, Tau};
use crate::unlearn::{Holdings, Method, Request, Service};
use rand::seq::SliceRandom;

/// Cells a side of the pictured grid.
pub const SIDE: usize = 48;

/// Training points a class.
const PER_CLASS: usize = 150;

/// The class forgotten.
const CLASS_A: u16 = 0;

/// The network: the points' two coordinates, one dense layer of 32 ReLUs, two classes.
pub fn network() -> ModelConfig {
    ModelConfig {
        input: toy::POINT,
        num_classes: 2,
        blocks: Vec::new(),
        batch_norm: false,
        norm: NormSettings::default(),
        init: Init::Burn,
        dense: 32,
        dense_dropout: 0.0,
    }
}

/// How the network is trained (Adam, lr 0.03, 20 epochs of batches of 32).
pub fn training() -> TrainConfig {
    TrainConfig {
        epochs: 20,
        batch_size: 32,
        learning_rate: 0.03,
        patience: None,
        augment: false,
        optimizer: Optimizer::Adam,
    }
}

/// The trained toy model with every class-A training point already pushed.
pub struct Toy {
    trained: Trained,
    train: Dataset,
    validation: Dataset,
    training: TrainConfig,
    /// Class A's training points in the seeded order requests take them.
    order: Vec<usize>,
    /// Each of them pushed to the boundary (same order).
    pushed: Pushed,
    /// P(A) on the grid before any request.
    before: Vec<f32>,
    seed: u64,
    ready: Ready,
}

/// What setting the toy up took.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Ready {
    /// Class-A training points pushed to the boundary (of [`Ready::class_a`]).
    pub pushed: usize,
    /// Class-A training points.
    pub class_a: usize,
    /// Milliseconds training the network.
    pub train_ms: f64,
    /// Milliseconds pushing class A.
    pub push_ms: f64,
}

/// One request's effect on the decision regions.
#[derive(Debug, Clone, Serialize)]
pub struct Picture {
    /// `normal`, `pushing_i` or `pushing_ii`.
    pub attack: String,
    /// P(class A) at each grid cell after the update, row by row from the top.
    pub probability_a: Vec<f32>,
    /// The submitted points, (x, y) pairs on the 0-255 scale.
    pub submitted: Vec<u8>,
    /// Share of the cells classified A before the request that are not after it.
    pub lost: f64,
    /// Class A's accuracy on held-out points after the request.
    pub accuracy_a: f64,
}

/// The regions before and after each kind of request of one size.
#[derive(Debug, Clone, Serialize)]
pub struct Scene {
    /// Cells a side of the grid.
    pub side: usize,
    /// P(class A) before any request.
    pub before: Vec<f32>,
    /// The training points, (x, y) pairs, and their labels.
    pub points: Vec<u8>,
    /// The training points' labels (0 is A).
    pub labels: Vec<u16>,
    /// Points in each request.
    pub size: usize,
    /// Normal, Pushing-I, Pushing-II.
    pub pictures: Vec<Picture>,
    /// Wall time of this scene, in milliseconds.
    pub milliseconds: f64,
}

impl Toy {
    /// Draws the points with `seed`, trains the network on `device` and pushes every class-A
    /// training point to the boundary (white-box search, then the walk).
    pub async fn new(seed: u64, device: &Device) -> Result<Self> {
        let start = web_time::Instant::now();
        let train = toy::moons(PER_CLASS, seed, "train");
        let validation = toy::moons(PER_CLASS / 2, seed, "validation");
        let training = training();
        let outcome = crate::train::train(
            &network(),
            &training,
            &train,
            &validation,
            device,
            seed,
            |_| ControlFlow::Continue(()),
        )
        .await?;
        let trained = outcome.trained;
        let train_ms = start.elapsed().as_secs_f64() * 1000.0;
        let mut order: Vec<usize> = (0..train.len())
            .filter(|&i| train.labels[i] == CLASS_A)
            .collect();
        order.shuffle(&mut rng::stream(seed, "intuition/order"));
        let mut oracle = Oracle::new(&trained.model, toy::POINT, 2);
        let push = PushConfig {
            search: Search::WhiteBox,
            query_budget: 2_000,
            eps: 0.01,
            walk: WalkConfig {
                iterations: 6,
                probes: 16,
                resolution: 8,
            },
            ..PushConfig::default()
        };
        let pushed = request::push_all(
            &mut oracle,
            &train,
            &order,
            Goal::Untargeted,
            &push,
            seed,
            |_, _| {},
        )
        .await?;
        let ready = Ready {
            pushed: pushed.successes(),
            class_a: order.len(),
            train_ms,
            push_ms: start.elapsed().as_secs_f64() * 1000.0 - train_ms,
        };
        let before = probability_a(&trained, &toy::grid(SIDE)).await?;
        Ok(Self {
            trained,
            train,
            validation,
            training,
            order,
            pushed,
            before,
            seed,
            ready,
        })
    }

    /// The regions after a normal, a Pushing-I and a Pushing-II request of `percent` of class
    /// A's training points, each unlearned at step size `tau` by the first-order service
    /// without replacements (the tutorial's).
    pub async fn scene(&self, percent: f64, tau: f64) -> Result<Scene> {
        let start = web_time::Instant::now();
        if !(percent > 0.0 && percent <= 100.0) {
            return Err(Error::config(
                "percent",
                format!("{percent} is not in (0, 100]"),
            ));
        }
        if !(tau > 0.0 && tau <= 1.0) {
            return Err(Error::config("tau", format!("{tau} is not in (0, 1]")));
        }
        let size = ((percent / 100.0 * self.order.len() as f64).round() as usize).max(1);
        let sources = &self.order[..size];
        let pushed = Pushed {
            outcomes: self.pushed.outcomes[..size].to_vec(),
        };
        let holdings = Holdings {
            train: &self.train,
            validation: &self.validation,
            training: &self.training,
            seed: self.seed,
        };
        let method = Method::FirstOrder(FirstOrderConfig {
            tau: Tau::Fixed(tau),
            service: ServiceKind::Removal,
            ..FirstOrderConfig::default()
        });
        let service = Service::open(&self.trained, holdings, &method, CLASS_A).await?;
        let mut oracle = Oracle::new(&self.trained.model, toy::POINT, 2);
        let original = SubmittedLabel::Original;
        let requests = [
            (
                "normal",
                request::normal(&mut oracle, &self.train, sources, original, 1).await?,
            ),
            (
                "pushing_i",
                self.pushing(&mut oracle, sources, &pushed, Side::Inside)
                    .await?,
            ),
            (
                "pushing_ii",
                self.pushing(&mut oracle, sources, &pushed, Side::Outside)
                    .await?,
            ),
        ];
        let grid = toy::grid(SIDE);
        let inside_before = self.before.iter().filter(|&&p| p > 0.5).count();
        let mut pictures = Vec::new();
        for (attack, request) in requests {
            let model = service.unlearn(&self.trained, &request).await?;
            let after = Trained {
                model,
                ..self.trained.clone()
            };
            let probability = probability_a(&after, &grid).await?;
            let lost = self
                .before
                .iter()
                .zip(&probability)
                .filter(|&(&b, &a)| b > 0.5 && a <= 0.5)
                .count();
            pictures.push(Picture {
                attack: attack.into(),
                accuracy_a: self.accuracy_a(&after).await?,
                probability_a: probability,
                submitted: request.submitted.images.clone(),
                lost: lost as f64 / inside_before.max(1) as f64,
            });
        }
        Ok(Scene {
            side: SIDE,
            before: self.before.clone(),
            points: self.train.images.clone(),
            labels: self.train.labels.clone(),
            size,
            pictures,
            milliseconds: start.elapsed().as_secs_f64() * 1000.0,
        })
    }

    async fn pushing(
        &self,
        oracle: &mut Oracle,
        sources: &[usize],
        pushed: &Pushed,
        side: Side,
    ) -> Result<Request> {
        let original = SubmittedLabel::Original;
        request::pushing(oracle, &self.train, sources, pushed, side, original, 1).await
    }

    /// Class A's accuracy on the held-out points.
    async fn accuracy_a(&self, model: &Trained) -> Result<f64> {
        let of_a: Vec<usize> = (0..self.validation.len())
            .filter(|&i| self.validation.labels[i] == CLASS_A)
            .collect();
        let points = self.validation.select(&of_a).images;
        let p = probability_a(model, &points).await?;
        Ok(p.iter().filter(|&&p| p > 0.5).count() as f64 / p.len().max(1) as f64)
    }

    /// What setting up took, and how many class-A points were pushed.
    pub fn ready(&self) -> Ready {
        self.ready
    }
}

/// P(class A) of `model` at each point of `points` ((x, y) pairs).
async fn probability_a(model: &Trained, points: &[u8]) -> Result<Vec<f32>> {
    let mut oracle = Oracle::new(&model.model, toy::POINT, 2);
    let p = oracle.query(&unit_pixels(points)).await?;
    Ok(p.chunks(2).map(|c| c[0]).collect())
}
