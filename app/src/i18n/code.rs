//! The e-mail code after the password.
//!
//! One struct, one constant per language: a message missing in either language is a compile error.

use super::{plural_en, plural_fr};

pub struct Code {
    pub code_title: &'static str,
    pub code_intro: &'static str,
    pub code_send: &'static str,
    pub code_resend: &'static str,
    pub code_sent: &'static str,
    pub code_delayed: &'static str,
    pub code_waiting: &'static str,
    pub code_abandoned: &'static str,
    pub code_label: &'static str,
    pub code_hint: &'static str,
    pub code_submit: &'static str,
    pub err_code_wrong: fn(i32) -> String,
    pub err_code_expired: &'static str,
    pub err_code_too_many: &'static str,
    pub err_code_resend_soon: fn(i64) -> String,
    pub err_code_too_many_sends: &'static str,
    pub err_code_step_expired: &'static str,
    pub err_code_not_sent: &'static str,
}

pub(super) const FR: Code = Code {
    code_title: "Code de connexion",
    code_intro: "Pour terminer la connexion, un code à usage unique est envoyé par courriel à l'adresse",
    code_send: "Envoyer le code par courriel",
    code_resend: "Renvoyer un nouveau code",
    code_sent: "Un code vous a été envoyé par courriel. Sa durée de validité est indiquée dans le message.",
    code_delayed: "L'envoi du courriel est retardé : le serveur de messagerie ne répond pas. Le code partira dès qu'il sera de nouveau disponible ; rechargez cette page dans un instant.",
    code_waiting: "Le courriel contenant le code est en cours d'envoi.",
    code_abandoned: "Le courriel n'a pas pu être envoyé. Demandez un nouveau code ou contactez l'assistance.",
    code_label: "Code reçu par courriel",
    code_hint: "6 chiffres.",
    code_submit: "Valider le code",
    err_code_wrong: |n| {
        format!(
            "Code incorrect : il reste {n} essai{}.",
            plural_fr(n.into())
        )
    },
    err_code_expired: "Ce code a expiré. Demandez-en un nouveau.",
    err_code_too_many: "Trop de codes incorrects : par sécurité, recommencez la connexion avec votre identifiant et votre mot de passe.",
    err_code_resend_soon: |n| {
        format!(
            "Un code vient d'être envoyé. Vous pourrez en demander un autre dans {n} seconde{}.",
            plural_fr(n)
        )
    },
    err_code_too_many_sends: "Trop de codes demandés : recommencez la connexion avec votre identifiant et votre mot de passe.",
    err_code_step_expired: "La connexion a expiré. Recommencez avec votre identifiant et votre mot de passe.",
    err_code_not_sent: "Demandez d'abord l'envoi du code.",
};

pub(super) const EN: Code = Code {
    code_title: "Sign-in code",
    code_intro: "To finish signing in, a one-time code is sent by e-mail to",
    code_send: "Send the code by e-mail",
    code_resend: "Send a new code",
    code_sent: "A code was sent to you by e-mail. The message says how long it is valid.",
    code_delayed: "Sending the e-mail is delayed: the mail server does not answer. The code will leave as soon as it is back; reload this page in a moment.",
    code_waiting: "The e-mail with the code is being sent.",
    code_abandoned: "The e-mail could not be sent. Ask for a new code or contact the support desk.",
    code_label: "Code received by e-mail",
    code_hint: "6 digits.",
    code_submit: "Check the code",
    err_code_wrong: |n| {
        format!(
            "Wrong code: {n} {} left.",
            if n == 1 { "try" } else { "tries" }
        )
    },
    err_code_expired: "This code has expired. Ask for a new one.",
    err_code_too_many: "Too many wrong codes: for your security, sign in again with your username and password.",
    err_code_resend_soon: |n| {
        format!(
            "A code was just sent. You can ask for another one in {n} second{}.",
            plural_en(n)
        )
    },
    err_code_too_many_sends: "Too many codes requested: sign in again with your username and password.",
    err_code_step_expired: "The sign-in has expired. Start again with your username and password.",
    err_code_not_sent: "Ask for the code first.",
};
