//! The malicious user's side: black-box access to the service's model ([`oracle`]) and the
//! crafting of unlearning requests that push samples to the decision boundary ([`push`], shrunk
//! by a [`walk`] along the boundary, with a [`whitebox`] reference), the [`crossings`] found so
//! far, the searches [`compare`]d, and what a crafted request looks like ([`gallery`]).

pub mod compare;
pub mod crossings;
pub mod gallery;
pub mod oracle;
pub mod push;
pub mod request;
pub mod walk;
pub mod whitebox;
