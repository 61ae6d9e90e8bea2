//! The malicious user's side: black-box access to the service's model ([`oracle`]) and the
//! crafting of unlearning requests that push samples to the decision boundary ([`search`]: ZOO,
//! the query-efficient search and its white-box reference, shrunk by a walk along the
//! boundary), the [`crossings`] found so far, the searches [`compare`]d, and what a crafted
//! request looks like ([`gallery`]).

pub mod adaptive;
pub mod compare;
pub mod crossings;
pub mod gallery;
pub mod oracle;
pub mod request;
pub mod search;
