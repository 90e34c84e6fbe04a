pub mod chooser;
pub mod dashboard;
pub mod no_establishment;
pub mod not_found;
pub mod sign_in;
