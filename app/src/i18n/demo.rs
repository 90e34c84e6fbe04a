//! The demo's pages: the e-mails the portal wrote instead of sending them.
//!
//! One struct, one constant per language: a message missing in either language is a compile error.

pub struct Demo {
    pub mails_title: &'static str,
    pub mails_intro: &'static str,
    pub mails_none: &'static str,
    pub mail_to: &'static str,
    pub mail_subject: &'static str,
    pub mail_written: &'static str,
    pub mail_back: &'static str,
}

pub(super) const FR: Demo = Demo {
    mails_title: "Courriels de démonstration",
    mails_intro: "Sans serveur de messagerie, la démonstration garde ici les courriels qu'elle aurait envoyés (activation, mot de passe oublié, codes de connexion, avis de liaison), du plus récent au plus ancien. Cette page n'existe qu'en démonstration.",
    mails_none: "Aucun courriel pour l'instant.",
    mail_to: "Destinataire",
    mail_subject: "Objet",
    mail_written: "Reçu le",
    mail_back: "Tous les courriels",
};

pub(super) const EN: Demo = Demo {
    mails_title: "Demo e-mails",
    mails_intro: "With no mail server, the demo keeps here the e-mails it would have sent (activation, forgotten password, sign-in codes, linking notices), newest first. This page exists in the demo only.",
    mails_none: "No e-mail yet.",
    mail_to: "To",
    mail_subject: "Subject",
    mail_written: "Received",
    mail_back: "All e-mails",
};
