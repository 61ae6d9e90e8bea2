//! The malicious user's side: black-box access to the service's model ([`oracle`]) and the
//! crafting of unlearning requests that push samples to the decision boundary ([`push`], with a
//! [`whitebox`] reference), and what a crafted request looks like ([`gallery`]).

pub mod gallery;
pub mod oracle;
pub mod push;
pub mod request;
pub mod whitebox;
