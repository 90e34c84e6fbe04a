//! What a page is told after a form post went well: a value carried in `?info=…` by the edge's
//! redirect, read back by the page, which shows its own sentence for it. One enum both sides
//! share, with one table of slugs, so that a redirect cannot name a notice no page knows.

use std::fmt;

/// A notice after a successful action (its page decides the sentence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Info {
    // Sign-in and the account's own pages.
    SignedOut,
    SignedOutOfPsc,
    SessionExpired,
    AccountActivated,
    PasswordChanged,
    CodeSent,
    ResetLinkSent,
    TiqrNotYet,
    PhoneEnrolled,
    PasswordNeededForPhone,
    PhoneRevoked,
    PhoneRenamed,
    CardRemoved,
    PscRemoved,
    PhoneRemoved,
    PasskeyAdded,
    PasskeyRemoved,
    SessionEnded,
    OtherSessionsEnded,
    AccountBlockedByHolder,
    // The console.
    Unlocked,
    ActivationLinkSent,
    ResetLinkSentByDesk,
    SessionsEnded,
    Disabled,
    Enabled,
    Saved,
    RegionChanged,
    MembershipAdded,
    MembershipRemoved,
    CardUnlinked,
    PasskeyRemovedByDesk,
    RoleGranted,
    RoleRevoked,
    AccountCreated,
    EstablishmentCreated,
    EstablishmentSaved,
    TiqrUnblocked,
    TiqrRevoked,
    TiqrDeskEnrolment,
    TiqrDeskEnrolled,
    TiqrDeskCodeSent,
    ImportAbandoned,
    AccountSecured,
    AccountSecuredWithoutLink,
    NewsSaved,
    NewsPublished,
    NewsWithdrawn,
    NewsDeleted,
    KeptActive,
    AccountWoken,
}

/// Each notice and its slug (French, stable: the tests and bookmarks read them).
const INFOS: [(Info, &str); 51] = [
    (Info::SignedOut, "deconnecte"),
    (Info::SignedOutOfPsc, "deconnecte-psc"),
    (Info::SessionExpired, "session-expiree"),
    (Info::AccountActivated, "compte-active"),
    (Info::PasswordChanged, "mot-de-passe-change"),
    (Info::CodeSent, "code-envoye"),
    (Info::ResetLinkSent, "envoye"),
    (Info::TiqrNotYet, "en-attente"),
    (Info::PhoneEnrolled, "telephone-enregistre"),
    (Info::PasswordNeededForPhone, "mot-de-passe"),
    (Info::PhoneRevoked, "revoque"),
    (Info::PhoneRenamed, "renomme"),
    (Info::CardRemoved, "carte-retiree"),
    (Info::PscRemoved, "psc-retiree"),
    (Info::PhoneRemoved, "telephone-retire"),
    (Info::PasskeyAdded, "cle-ajoutee"),
    (Info::SessionEnded, "session-fermee"),
    (Info::OtherSessionsEnded, "autres-sessions-fermees"),
    (Info::AccountBlockedByHolder, "compte-bloque"),
    (Info::AccountWoken, "compte-reactive"),
    (Info::KeptActive, "compte-prolonge"),
    (Info::PasskeyRemoved, "cle-retiree"),
    (Info::PasskeyRemovedByDesk, "cle-retiree-par-l-assistance"),
    (Info::Unlocked, "deverrouille"),
    (Info::ActivationLinkSent, "lien-activation"),
    (Info::ResetLinkSentByDesk, "lien-reinitialisation"),
    (Info::SessionsEnded, "sessions-fermees"),
    (Info::Disabled, "desactive"),
    (Info::Enabled, "reactive"),
    (Info::Saved, "modifie"),
    (Info::RegionChanged, "region-changee"),
    (Info::MembershipAdded, "etablissement-ajoute"),
    (Info::MembershipRemoved, "etablissement-retire"),
    (Info::CardUnlinked, "carte-deliee"),
    (Info::RoleGranted, "role-ajoute"),
    (Info::RoleRevoked, "role-retire"),
    (Info::AccountCreated, "compte-cree"),
    (Info::EstablishmentCreated, "etablissement-cree"),
    (Info::EstablishmentSaved, "etablissement-modifie"),
    (Info::TiqrUnblocked, "tiqr-debloque"),
    (Info::TiqrRevoked, "tiqr-revoque"),
    (Info::TiqrDeskEnrolment, "tiqr-inscription"),
    (Info::TiqrDeskEnrolled, "tiqr-inscrit"),
    (Info::TiqrDeskCodeSent, "tiqr-code-envoye"),
    (Info::ImportAbandoned, "import-abandonne"),
    (Info::AccountSecured, "compte-securise"),
    (Info::AccountSecuredWithoutLink, "compte-securise-sans-lien"),
    (Info::NewsSaved, "actualite-enregistree"),
    (Info::NewsPublished, "actualite-publiee"),
    (Info::NewsWithdrawn, "actualite-retiree"),
    (Info::NewsDeleted, "actualite-supprimee"),
];

impl Info {
    pub fn slug(self) -> &'static str {
        INFOS
            .iter()
            .find(|(i, _)| *i == self)
            .map_or("", |(_, s)| *s)
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        INFOS.iter().find(|(_, s)| *s == slug).map(|(i, _)| *i)
    }

    /// `page?info=slug`, where the edge sends the browser.
    pub fn on(self, page: &str) -> String {
        let sep = if page.contains('?') { '&' } else { '?' };
        format!("{page}{sep}info={}", self.slug())
    }
}

impl fmt::Display for Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip_and_are_distinct() {
        for (info, slug) in INFOS {
            assert_eq!(Info::from_slug(slug), Some(info));
            assert_eq!(info.slug(), slug);
            assert_eq!(
                INFOS.iter().filter(|(_, s)| *s == slug).count(),
                1,
                "{slug}"
            );
            assert_eq!(
                INFOS.iter().filter(|(i, _)| *i == info).count(),
                1,
                "{info:?}"
            );
        }
        assert_eq!(Info::from_slug("<script>"), None);
        assert_eq!(
            Info::Saved.on("/admin/comptes/1"),
            "/admin/comptes/1?info=modifie"
        );
        assert_eq!(
            Info::CodeSent.on("/connexion/code?x=1"),
            "/connexion/code?x=1&info=code-envoye"
        );
    }
}
