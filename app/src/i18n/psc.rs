//! Pro Santé Connect.
//!
//! One struct, one constant per language: a message missing in either language is a compile error.

pub struct Psc {
    pub psc_session_may_remain: &'static str,
    pub psc_sign_out_too: &'static str,
    pub psc_button: &'static str,
    pub psc_hint: &'static str,
    pub psc_error_title: &'static str,
    pub psc_try_again: &'static str,
    pub err_psc_cancelled: &'static str,
    pub err_psc_refused: &'static str,
    pub err_psc_unavailable: &'static str,
    pub err_psc_state: &'static str,
    pub err_psc_token: &'static str,
    pub err_psc_no_identity: &'static str,
    pub err_psc_level: &'static str,
    pub err_psc_link_expired: &'static str,
    pub err_psc_disabled: &'static str,
}

pub(super) const FR: Psc = Psc {
    psc_session_may_remain: "Votre session Pro Santé Connect peut rester ouverte dans ce navigateur (la prochaine connexion par Pro Santé Connect vous redemandera de vous authentifier).",
    psc_sign_out_too: "Se déconnecter aussi de Pro Santé Connect",
    psc_button: "Se connecter avec Pro Santé Connect",
    psc_hint: "Carte CPS ou application e-CPS, sur la page de Pro Santé Connect.",
    psc_error_title: "Connexion avec Pro Santé Connect impossible",
    psc_try_again: "Réessayer avec Pro Santé Connect",
    err_psc_cancelled: "Vous avez annulé la connexion avec Pro Santé Connect. Vous pouvez recommencer ou choisir un autre moyen de connexion.",
    err_psc_refused: "Pro Santé Connect n'a pas accepté la connexion. Recommencez, ou choisissez un autre moyen de connexion.",
    err_psc_unavailable: "Pro Santé Connect ne répond pas pour le moment. Réessayez dans quelques minutes ou connectez-vous autrement.",
    err_psc_state: "Cette réponse de Pro Santé Connect n'est pas valable : elle a déjà été utilisée, a expiré ou vient d'un autre navigateur. Recommencez la connexion.",
    err_psc_token: "La réponse de Pro Santé Connect n'a pas pu être vérifiée. Recommencez la connexion ; si cela se reproduit, contactez l'assistance.",
    err_psc_no_identity: "Pro Santé Connect n'a pas transmis votre identifiant national : la connexion n'est pas possible par ce moyen.",
    err_psc_level: "Ce moyen d'authentification n'offre pas le niveau de sécurité exigé par ce service. Connectez-vous avec votre carte CPS.",
    err_psc_link_expired: "La liaison avec votre identité Pro Santé Connect a expiré ou a déjà été utilisée. Reconnectez-vous avec Pro Santé Connect.",
    err_psc_disabled: "La connexion avec Pro Santé Connect n'est pas proposée sur ce portail.",
};

pub(super) const EN: Psc = Psc {
    psc_session_may_remain: "Your Pro Santé Connect session may still be open in this browser (the next Pro Santé Connect sign-in will ask you to authenticate again).",
    psc_sign_out_too: "Also sign out of Pro Santé Connect",
    psc_button: "Sign in with Pro Santé Connect",
    psc_hint: "CPS card or e-CPS app, on Pro Santé Connect's page.",
    psc_error_title: "Sign-in with Pro Santé Connect failed",
    psc_try_again: "Try Pro Santé Connect again",
    err_psc_cancelled: "You cancelled the sign-in with Pro Santé Connect. You can start again or choose another way to sign in.",
    err_psc_refused: "Pro Santé Connect did not accept the sign-in. Start again, or choose another way to sign in.",
    err_psc_unavailable: "Pro Santé Connect is not answering at the moment. Try again in a few minutes or sign in another way.",
    err_psc_state: "This answer from Pro Santé Connect is not valid: it was already used, has expired or comes from another browser. Start the sign-in again.",
    err_psc_token: "Pro Santé Connect's answer could not be verified. Start the sign-in again; if it happens again, contact the support desk.",
    err_psc_no_identity: "Pro Santé Connect did not send your national identifier: you cannot sign in this way.",
    err_psc_level: "This authentication means does not offer the security level this service requires. Sign in with your CPS card.",
    err_psc_link_expired: "The link with your Pro Santé Connect identity has expired or was already used. Sign in with Pro Santé Connect again.",
    err_psc_disabled: "Sign-in with Pro Santé Connect is not offered on this portal.",
};
