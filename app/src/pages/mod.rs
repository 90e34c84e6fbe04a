pub mod card_link;
pub mod card_sign_in;
pub mod chooser;
pub mod dashboard;
pub mod my_cards;
pub mod no_establishment;
pub mod not_found;
pub mod sign_in;
