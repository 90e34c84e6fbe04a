//! The message catalog: every text a user reads, French first, English second, one file per area
//! (`m.sign_in.…`, `m.card.…`, `m.console.…`). In each, one struct and one constant per language:
//! a message missing in either language is a compile error, which a key–value file cannot
//! promise. Messages with a number or a name are functions of it (`(m.code.err_code_wrong)(2)`),
//! so the placeholder and the plural are checked too.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        }
    }

    pub fn messages(self) -> &'static Messages {
        match self {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }
}

/// Name of the cookie that keeps the chosen language.
pub const LANG_COOKIE: &str = "passerelle_lang";

/// French: the plural from 2 on ("0 essai", "1 essai", "2 essais").
pub(crate) fn plural_fr(n: i64) -> &'static str {
    if n > 1 { "s" } else { "" }
}

/// English: the plural for any count but 1 ("0 tries", "1 try").
pub(crate) fn plural_en(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A count as the plural rules take it.
pub(crate) fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub mod account;
pub mod activity;
pub mod bulk;
pub mod card;
pub mod code;
pub mod common;
pub mod console;
pub mod demo;
pub mod directory;
pub mod dormancy;
pub mod import;
pub mod means;
pub mod news;
pub mod passkey;
pub mod policy;
pub mod psc;
pub mod sign_in;
pub mod tiqr;

pub struct Messages {
    pub common: common::Common,
    pub sign_in: sign_in::SignIn,
    pub account: account::Account,
    pub code: code::Code,
    pub card: card::Card,
    pub psc: psc::Psc,
    pub tiqr: tiqr::Tiqr,
    pub means: means::Means,
    pub console: console::Console,
    pub bulk: bulk::Bulk,
    pub import: import::Import,
    pub demo: demo::Demo,
    pub directory: directory::Directory,
    pub dormancy: dormancy::Dormancy,
    pub news: news::News,
    pub passkey: passkey::Passkey,
    pub activity: activity::Activity,
    pub policy: policy::Policy,
}

pub const FR: Messages = Messages {
    common: common::FR,
    sign_in: sign_in::FR,
    account: account::FR,
    code: code::FR,
    card: card::FR,
    psc: psc::FR,
    tiqr: tiqr::FR,
    means: means::FR,
    console: console::FR,
    bulk: bulk::FR,
    import: import::FR,
    demo: demo::FR,
    directory: directory::FR,
    dormancy: dormancy::FR,
    news: news::FR,
    passkey: passkey::FR,
    activity: activity::FR,
    policy: policy::FR,
};

pub const EN: Messages = Messages {
    common: common::EN,
    sign_in: sign_in::EN,
    account: account::EN,
    code: code::EN,
    card: card::EN,
    psc: psc::EN,
    tiqr: tiqr::EN,
    means: means::EN,
    console: console::EN,
    bulk: bulk::EN,
    import: import::EN,
    demo: demo::EN,
    directory: directory::EN,
    dormancy: dormancy::EN,
    news: news::EN,
    passkey: passkey::EN,
    activity: activity::EN,
    policy: policy::EN,
};
