//! The e-mails Passerelle sends, in French, as plain text and HTML, each with the region's support
//! contact in the footer. Pure functions: tested directly.

use super::Recipient;

/// A message ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub kind: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn footer_text(r: &Recipient) -> String {
    format!(
        "\n--\nAssistance aux utilisateurs ({agency})\nCourriel : {email}\nTéléphone : {phone}\nHoraires : {hours}\n\
         Ce message est envoyé automatiquement par Passerelle ; merci de ne pas y répondre.\n",
        agency = r.agency_name,
        email = r.support_email,
        phone = r.support_phone,
        hours = r.support_hours,
    )
}

fn html_page(r: &Recipient, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Passerelle</title></head>\
         <body style=\"font-family:Arial,sans-serif;color:#161616\">{body}\
         <hr><p style=\"font-size:0.9em\">Assistance aux utilisateurs ({agency})<br>Courriel : {email}<br>\
         Téléphone : {phone}<br>Horaires : {hours}</p>\
         <p style=\"font-size:0.8em\">Ce message est envoyé automatiquement par Passerelle ; merci de ne pas y répondre.</p>\
         </body></html>",
        agency = escape(&r.agency_name),
        email = escape(&r.support_email),
        phone = escape(&r.support_phone),
        hours = escape(&r.support_hours),
    )
}

fn greeting(r: &Recipient) -> String {
    format!("Bonjour {} {},", r.given_name, r.family_name)
}

/// The 6-digit sign-in code.
pub fn sign_in_code(r: &Recipient, code: &str, minutes: i64) -> Mail {
    let minutes = if minutes == 1 {
        "1 minute".to_string()
    } else {
        format!("{minutes} minutes")
    };
    let text = format!(
        "{greeting}\n\nVotre code de connexion à Passerelle : {code}\n\nIl est valable {minutes} et ne \
         peut servir qu'une fois. Si vous n'êtes pas à l'origine de cette demande, ne communiquez ce code à \
         personne et contactez l'assistance.\n{footer}",
        greeting = greeting(r),
        footer = footer_text(r),
    );
    let html = html_page(
        r,
        &format!(
            "<p>{greeting}</p><p>Votre code de connexion à Passerelle :</p>\
             <p style=\"font-size:1.6em;letter-spacing:0.2em\"><strong>{code}</strong></p>\
             <p>Il est valable {minutes} et ne peut servir qu'une fois. Si vous n'êtes pas à \
             l'origine de cette demande, ne communiquez ce code à personne et contactez l'assistance.</p>",
            greeting = escape(&greeting(r)),
        ),
    );
    Mail {
        kind: "sign_in_code",
        // Not the code: subjects show on lock screens and stay in the outbox.
        subject: "Passerelle : votre code de connexion".into(),
        text,
        html,
    }
}

/// A link to choose a password: activation of a new account, or reset.
pub fn password_link(r: &Recipient, activation: bool, url: &str, hours: i64) -> Mail {
    let (kind, subject, intro) = if activation {
        (
            "activation",
            "Passerelle : activez votre compte".to_string(),
            format!(
                "Un compte Passerelle a été créé pour vous (identifiant : {}). Pour l'activer, choisissez \
                 votre mot de passe en suivant ce lien :",
                r.username
            ),
        )
    } else {
        (
            "password_reset",
            "Passerelle : changement de mot de passe".to_string(),
            format!(
                "Un changement de mot de passe a été demandé pour votre compte Passerelle (identifiant : {}). \
                 Pour choisir un nouveau mot de passe, suivez ce lien :",
                r.username
            ),
        )
    };
    let unit = if hours == 1 { "heure" } else { "heures" };
    let caution = format!(
        "Ce lien est valable {hours} {unit} et ne peut servir qu'une fois. Si vous n'êtes pas à l'origine \
         de cette demande, ignorez ce message : votre mot de passe actuel reste valable."
    );
    let text = format!(
        "{greeting}\n\n{intro}\n{url}\n\n{caution}\n{footer}",
        greeting = greeting(r),
        footer = footer_text(r),
    );
    let html = html_page(
        r,
        &format!(
            "<p>{greeting}</p><p>{intro}</p><p><a href=\"{url}\">{url}</a></p><p>{caution}</p>",
            greeting = escape(&greeting(r)),
            intro = escape(&intro),
            url = escape(url),
            caution = escape(&caution),
        ),
    );
    Mail {
        kind,
        subject,
        text,
        html,
    }
}

/// The password was just changed through a reset link: the holder learns it if it was not them.
/// `removed` lists the cards, PSC identities and phones the holder chose to remove with it.
pub fn password_changed(r: &Recipient, removed: &[String]) -> Mail {
    let body = format!(
        "Le mot de passe de votre compte Passerelle (identifiant : {}) vient d'être changé et toutes \
         vos sessions ont été fermées. Si vous n'êtes pas à l'origine de ce changement, contactez \
         immédiatement l'assistance.",
        r.username
    );
    let removed_text = removed_paragraph(
        "À votre demande, les moyens de connexion suivants ont aussi été retirés de votre compte :",
        removed,
    );
    Mail {
        kind: "password_changed",
        subject: "Passerelle : votre mot de passe a été changé".into(),
        text: format!(
            "{}\n\n{body}\n{}\n{}",
            greeting(r),
            removed_text.0,
            footer_text(r)
        ),
        html: html_page(
            r,
            &format!(
                "<p>{}</p><p>{}</p>{}",
                escape(&greeting(r)),
                escape(&body),
                removed_text.1
            ),
        ),
    }
}

/// A card was linked to the account (the one-time linking, or a renewal): if the holder did not
/// do it, the support desk must know at once.
pub fn card_linked(r: &Recipient, card_type: &str, serial: &str, renewal: bool) -> Mail {
    let how = if renewal {
        "Votre nouvelle carte a été reconnue et liée automatiquement à votre compte Passerelle"
    } else {
        "Une carte a été liée à votre compte Passerelle"
    };
    let body = format!(
        "{how} (identifiant : {user}) : carte {card_type}, numéro de série {serial}. Elle permet \
         désormais de vous connecter sans mot de passe. Si vous n'êtes pas à l'origine de cette \
         opération, contactez immédiatement l'assistance.",
        user = r.username
    );
    Mail {
        kind: "card_linked",
        subject: "Passerelle : une carte a été liée à votre compte".into(),
        text: format!("{}\n\n{body}\n{}", greeting(r), footer_text(r)),
        html: html_page(
            r,
            &format!("<p>{}</p><p>{}</p>", escape(&greeting(r)), escape(&body)),
        ),
    }
}

/// A Pro Santé Connect identity was linked to the account: from now on PSC alone signs in.
pub fn psc_linked(r: &Recipient, holder: &str, national_id: &str, auth_mode: Option<&str>) -> Mail {
    let how = match auth_mode {
        Some("MOBILE") => " (application e-CPS)",
        Some("CARD") => " (carte CPS)",
        _ => "",
    };
    let body = format!(
        "L'identité Pro Santé Connect de {holder} (identifiant national {national_id}){how} a été \
         liée à votre compte Passerelle (identifiant : {user}). Elle permet désormais de vous \
         connecter par Pro Santé Connect sans mot de passe. Si vous n'êtes pas à l'origine de cette \
         opération, retirez-la dans « Mes moyens de connexion » et contactez immédiatement \
         l'assistance.",
        user = r.username
    );
    Mail {
        kind: "psc_linked",
        subject: "Passerelle : une identité Pro Santé Connect a été liée à votre compte".into(),
        text: format!("{}\n\n{body}\n{}", greeting(r), footer_text(r)),
        html: html_page(
            r,
            &format!("<p>{}</p><p>{}</p>", escape(&greeting(r)), escape(&body)),
        ),
    }
}

// --- Sign-in means: removal and the desk's "compte compromis" (issue 14, H-1) ---

/// A list of removed means, as text and as HTML (empty when nothing was removed).
fn removed_paragraph(intro: &str, removed: &[String]) -> (String, String) {
    if removed.is_empty() {
        return (String::new(), String::new());
    }
    let text = removed
        .iter()
        .map(|w| format!("- {w}\n"))
        .collect::<String>();
    let html = removed
        .iter()
        .map(|w| format!("<li>{}</li>", escape(w)))
        .collect::<String>();
    (
        format!("\n{intro}\n{text}"),
        format!("<p>{}</p><ul>{html}</ul>", escape(intro)),
    )
}

/// Cards, Pro Santé Connect identities or phones were removed from the account, by the holder on
/// "Mes moyens de connexion" or by the desk (`desk_agent`).
pub fn sign_in_means_removed(r: &Recipient, removed: &[String], desk_agent: Option<&str>) -> Mail {
    let who = match desk_agent {
        Some(agent) => format!("par l'assistance aux utilisateurs (agent : {agent})"),
        None => "depuis votre page « Mes moyens de connexion »".to_string(),
    };
    let intro = format!(
        "Les moyens de connexion suivants ont été retirés de votre compte Passerelle (identifiant : \
         {user}), {who} :",
        user = r.username
    );
    let caution = "Ils ne permettent plus de vous connecter. Si vous n'êtes pas à l'origine de ce \
                   retrait, contactez immédiatement l'assistance.";
    let (text_list, html_list) = removed_paragraph(&intro, removed);
    Mail {
        kind: "sign_in_means_removed",
        subject: "Passerelle : un moyen de connexion a été retiré de votre compte".into(),
        text: format!(
            "{}\n{text_list}\n{caution}\n{}",
            greeting(r),
            footer_text(r)
        ),
        html: html_page(
            r,
            &format!(
                "<p>{}</p>{html_list}<p>{}</p>",
                escape(&greeting(r)),
                escape(caution)
            ),
        ),
    }
}

/// The desk secured the account as compromised: the password no longer works, every session
/// ended, the means listed were removed; the reset link follows in its own message.
pub fn account_secured(r: &Recipient, removed: &[String], desk_agent: &str) -> Mail {
    let body = format!(
        "L'assistance aux utilisateurs (agent : {desk_agent}) a sécurisé votre compte Passerelle \
         (identifiant : {user}), signalé comme compromis : votre mot de passe ne fonctionne plus, \
         toutes vos sessions ont été fermées et les codes ou liens en attente ont été annulés.",
        user = r.username
    );
    let (text_list, html_list) = removed_paragraph(
        "Les moyens de connexion suivants ont été retirés de votre compte :",
        removed,
    );
    let next = "Vous allez recevoir un second message avec un lien pour choisir un nouveau mot de \
                passe. Vous pourrez ensuite lier à nouveau votre carte, votre identité Pro Santé \
                Connect et votre téléphone.";
    Mail {
        kind: "account_secured",
        subject: "Passerelle : votre compte a été sécurisé".into(),
        text: format!(
            "{}\n\n{body}\n{text_list}\n{next}\n{}",
            greeting(r),
            footer_text(r)
        ),
        html: html_page(
            r,
            &format!(
                "<p>{}</p><p>{}</p>{html_list}<p>{}</p>",
                escape(&greeting(r)),
                escape(&body),
                escape(next)
            ),
        ),
    }
}

// --- end of sign-in means ---

// --- Hardening (issue 14, L-4): e-mail address changed in the console. ---

/// The account's e-mail address was changed in the console: sent to the old address and to the
/// new one, so that a takeover through an address change cannot go unnoticed.
pub fn email_changed(r: &Recipient, old: &str, new: &str) -> Mail {
    let body = format!(
        "L'adresse électronique de votre compte Passerelle (identifiant : {user}) a été changée par \
         un administrateur : {old} est remplacée par {new}. Les liens et codes de connexion seront \
         désormais envoyés à la nouvelle adresse. Si vous n'avez pas demandé ce changement, \
         contactez immédiatement l'assistance.",
        user = r.username
    );
    Mail {
        kind: "email_changed",
        subject: "Passerelle : l'adresse électronique de votre compte a été changée".into(),
        text: format!("{}\n\n{body}\n{}", greeting(r), footer_text(r)),
        html: html_page(
            r,
            &format!("<p>{}</p><p>{}</p>", escape(&greeting(r)), escape(&body)),
        ),
    }
}

// --- end of hardening (issue 14) ---

// --- TIQR phones (issue 14, H-2 and M-1) ---

/// `03/12/2026 à 10:02` in French legal time (the holder reads it against their own memory of the
/// day). Also what the console shows (`app::admin_api::server::datetime`).
pub fn paris_datetime(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(paris_offset(t));
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// The day it is in Paris at `t` (news items are shown by the day).
pub fn paris_date(t: time::OffsetDateTime) -> time::Date {
    t.to_offset(paris_offset(t)).date()
}

/// Central European Time, with summer time from the last Sunday of March to the last Sunday of
/// October (01:00 UTC both).
fn paris_offset(t: time::OffsetDateTime) -> time::UtcOffset {
    use time::{Date, Month, Weekday};
    let last_sunday = |month: Month| {
        let mut d = Date::from_calendar_date(t.year(), month, 31).unwrap_or(t.date());
        while d.weekday() != Weekday::Sunday {
            d = d.previous_day().unwrap_or(d);
        }
        d.with_hms(1, 0, 0).map(|p| p.assume_utc())
    };
    let summer = match (last_sunday(Month::March), last_sunday(Month::October)) {
        (Ok(start), Ok(end)) => t >= start && t < end,
        _ => false,
    };
    time::UtcOffset::from_hms(if summer { 2 } else { 1 }, 0, 0).unwrap_or(time::UtcOffset::UTC)
}

/// A phone was added to the account for the TIQR app (sent when the enrolling browser confirmed
/// it): who started it (the holder, or the desk agent by name) and when, and what to do if it was
/// not the holder.
pub fn tiqr_phone_added(
    r: &Recipient,
    phone: &str,
    desk_agent: Option<&str>,
    started_at: time::OffsetDateTime,
) -> Mail {
    let who = match desk_agent {
        Some(agent) => {
            format!("par l'assistance aux utilisateurs (agent : {agent}), à votre demande")
        }
        None => "depuis votre page « Application TIQR »".to_string(),
    };
    let body = format!(
        "Un nouveau téléphone (« {phone} ») a été enregistré pour l'application TIQR sur votre compte          Passerelle (identifiant : {user}), le {at}, {who}. Il permet désormais de vous connecter en          scannant un QR code.",
        user = r.username,
        at = paris_datetime(started_at).replacen(' ', " à ", 1),
    );
    let caution = "Si vous n'êtes pas à l'origine de cet ajout : retirez ce téléphone depuis la page                    « Application TIQR » de votre compte, changez votre mot de passe et contactez                    immédiatement l'assistance (coordonnées ci-dessous), qui peut aussi le révoquer.";
    Mail {
        kind: "tiqr_phone_added",
        subject: "Passerelle : un nouveau téléphone a été ajouté à votre compte".into(),
        text: format!("{}\n\n{body}\n\n{caution}\n{}", greeting(r), footer_text(r)),
        html: html_page(
            r,
            &format!(
                "<p>{}</p><p>{}</p><p>{}</p>",
                escape(&greeting(r)),
                escape(&body),
                escape(caution)
            ),
        ),
    }
}

/// A passkey was registered on the account (from "Mes moyens de connexion"): when, under which
/// name, and what to do if the holder did not do it.
pub fn passkey_added(r: &Recipient, name: &str, at: time::OffsetDateTime) -> Mail {
    let body = format!(
        "Une clé d'accès (« {name} ») a été enregistrée sur votre compte Passerelle (identifiant : \
         {user}), le {at}, depuis votre page « Mes moyens de connexion ». Elle permet désormais de \
         vous connecter sans mot de passe, avec le verrouillage de votre appareil.",
        user = r.username,
        at = paris_datetime(at).replacen(' ', " à ", 1),
    );
    let caution = "Si vous n'êtes pas à l'origine de cet ajout : retirez cette clé depuis la page \
                   « Mes moyens de connexion » de votre compte, changez votre mot de passe et \
                   contactez immédiatement l'assistance (coordonnées ci-dessous), qui peut aussi la \
                   retirer.";
    Mail {
        kind: "passkey_added",
        subject: "Passerelle : une clé d'accès a été ajoutée à votre compte".into(),
        text: format!("{}\n\n{body}\n\n{caution}\n{}", greeting(r), footer_text(r)),
        html: html_page(
            r,
            &format!(
                "<p>{}</p><p>{}</p><p>{}</p>",
                escape(&greeting(r)),
                escape(&body),
                escape(caution)
            ),
        ),
    }
}

/// A sign-in as the e-mails tell it: when, how, from where, with which browser.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub at: time::OffsetDateTime,
    pub method: model::sign_in::Method,
    pub place: &'a model::activity::Place,
    pub browser: Option<&'a str>,
}

impl Attempt<'_> {
    /// « le 03/12/2026 à 10:02, par carte CPx, lieu approximatif : …, navigateur : … »
    fn told(&self) -> String {
        format!(
            "le {at}, par {method}, lieu approximatif : {place}, navigateur : {browser}",
            at = paris_datetime(self.at).replacen(' ', " à ", 1),
            method = method_fr(self.method),
            place = place_fr(self.place),
            browser = self.browser.unwrap_or("inconnu"),
        )
    }
}

/// How a sign-in was made, in the e-mails' words.
fn method_fr(method: model::sign_in::Method) -> &'static str {
    use model::sign_in::Method;
    match method {
        Method::Password => "identifiant et mot de passe",
        Method::PasswordEmailCode => "mot de passe et code reçu par courriel",
        Method::Card => "carte CPx",
        Method::Psc => "Pro Santé Connect",
        Method::Tiqr => "application TIQR",
        Method::Passkey => "clé d'accès",
    }
}

fn place_fr(place: &model::activity::Place) -> String {
    use model::activity::Place;
    match place {
        Place::ThisMachine => "le serveur lui-même".into(),
        Place::PrivateNetwork => "un réseau privé (établissement, VPN)".into(),
        Place::Network(prefix) => format!("Internet, réseau {prefix}"),
        Place::Unknown => "inconnu".into(),
    }
}

/// A sign-in from a browser the account never used: when, how, from where, and the link that
/// locks the account if it was not the holder.
pub fn new_device(r: &Recipient, attempt: Attempt<'_>, not_me_url: &str, days: i64) -> Mail {
    let body = format!(
        "Une connexion à votre compte Passerelle (identifiant : {user}) a eu lieu depuis un \
         navigateur jamais utilisé pour ce compte : {attempt}.",
        user = r.username,
        attempt = attempt.told(),
    );
    let fine = "Si c'était vous, il n'y a rien à faire.";
    let not_me = format!(
        "Si ce n'était pas vous, ouvrez ce lien ({days} jours) : toutes les sessions de votre \
         compte seront fermées, ses moyens de connexion retirés, son mot de passe désactivé, et \
         il sera bloqué jusqu'à ce que l'assistance le débloque (coordonnées ci-dessous) et vous \
         envoie un lien pour choisir un nouveau mot de passe."
    );
    Mail {
        kind: "new_device",
        subject: "Passerelle : connexion depuis un nouveau navigateur".into(),
        text: format!(
            "{}\n\n{body}\n\n{fine}\n\n{not_me}\n{url}\n{}",
            greeting(r),
            footer_text(r),
            url = not_me_url
        ),
        html: html_page(
            r,
            &format!(
                "<p>{}</p><p>{}</p><p>{}</p><p>{}</p><p><a href=\"{url}\">Ce n'était pas moi : bloquer mon compte</a></p>",
                escape(&greeting(r)),
                escape(&body),
                escape(fine),
                escape(&not_me),
                url = escape(not_me_url)
            ),
        ),
    }
}

/// The account will become dormant on `dormant_on` if nobody signs in before: since when it was
/// not used, and that any sign-in keeps it active.
pub fn dormancy_warning(
    r: &Recipient,
    unused_since: time::Date,
    dormant_on: time::Date,
    sign_in_url: &str,
) -> Mail {
    let body = format!(
        "Votre compte Passerelle (identifiant : {user}) n'a servi à aucune connexion depuis le \
         {since}. Sans connexion d'ici là, il sera mis en sommeil le {on} : il faudra alors, pour \
         vous connecter, ouvrir un lien que nous vous enverrons par courriel.",
        user = r.username,
        since = french_date(unused_since),
        on = french_date(dormant_on),
    );
    let keep = "Pour le garder actif, il suffit de vous connecter une fois, par le moyen de votre \
                choix. Si vous n'en avez plus l'usage, vous n'avez rien à faire.";
    Mail {
        kind: "dormancy_warning",
        subject: "Passerelle : votre compte sera bientôt mis en sommeil".into(),
        text: format!(
            "{}\n\n{body}\n\n{keep}\n{sign_in_url}\n{}",
            greeting(r),
            footer_text(r)
        ),
        html: html_page(
            r,
            &format!(
                "<p>{}</p><p>{}</p><p>{}</p><p><a href=\"{url}\">Se connecter à Passerelle</a></p>",
                escape(&greeting(r)),
                escape(&body),
                escape(keep),
                url = escape(sign_in_url)
            ),
        ),
    }
}

/// A sign-in met the account asleep: what was tried, and the link that wakes it.
pub fn wake_link(r: &Recipient, attempt: Attempt<'_>, url: &str, days: i64) -> Mail {
    let body = format!(
        "Votre compte Passerelle (identifiant : {user}) est en sommeil : il n'a servi à aucune \
         connexion depuis longtemps. Une connexion vient d'être tentée : {attempt}.",
        user = r.username,
        attempt = attempt.told(),
    );
    let wake = format!(
        "Si c'était vous, ouvrez ce lien ({days} jours, une seule fois) et confirmez : le compte \
         redeviendra actif, puis connectez-vous comme d'habitude."
    );
    let not_me = "Si ce n'était pas vous, n'ouvrez pas ce lien : quelqu'un connaît votre moyen de \
                  connexion. Changez votre mot de passe et contactez l'assistance (coordonnées \
                  ci-dessous).";
    Mail {
        kind: "wake_link",
        subject: "Passerelle : réactiver votre compte en sommeil".into(),
        text: format!(
            "{}\n\n{body}\n\n{wake}\n{url}\n\n{not_me}\n{}",
            greeting(r),
            footer_text(r)
        ),
        html: html_page(
            r,
            &format!(
                "<p>{}</p><p>{}</p><p>{}</p><p><a href=\"{link}\">Réactiver mon compte</a></p><p>{}</p>",
                escape(&greeting(r)),
                escape(&body),
                escape(&wake),
                escape(not_me),
                link = escape(url)
            ),
        ),
    }
}

/// `03/12/2026`.
fn french_date(d: time::Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

/// The code the holder reads out to the desk so that the desk can enrol a phone for them.
pub fn tiqr_desk_code(r: &Recipient, code: &str, desk_agent: &str, minutes: i64) -> Mail {
    let body = format!(
        "L'assistance aux utilisateurs (agent : {desk_agent}) demande à enregistrer un téléphone pour          l'application TIQR sur votre compte Passerelle (identifiant : {user}). Si vous êtes au guichet          ou au téléphone avec l'assistance pour cela, communiquez-lui ce code : {code}",
        user = r.username,
    );
    let caution = format!(
        "Il est valable {minutes} minutes et ne peut servir qu'une fois. Si vous n'avez rien demandé,          ne communiquez ce code à personne et signalez-le à l'assistance : ce code permettrait          d'ajouter un téléphone capable de vous connecter."
    );
    Mail {
        kind: "tiqr_desk_code",
        // Not the code: subjects show on lock screens and stay in the outbox.
        subject: "Passerelle : code pour enregistrer un téléphone".into(),
        text: format!("{}\n\n{body}\n\n{caution}\n{}", greeting(r), footer_text(r)),
        html: html_page(
            r,
            &format!(
                "<p>{}</p><p>{}</p><p style=\"font-size:1.6em;letter-spacing:0.2em\"><strong>{code}</strong></p><p>{}</p>",
                escape(&greeting(r)),
                escape(&body),
                escape(&caution)
            ),
        ),
    }
}

// --- end of TIQR phones ---

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient() -> Recipient {
        Recipient {
            user_id: uuid::Uuid::nil(),
            email: crate::ids::Email::parse("c.martin@example.fr").unwrap(),
            given_name: "Claire".into(),
            family_name: "Martin".into(),
            username: crate::ids::Username::parse("dr.martin").unwrap(),
            support_email: "assistance@idf.example".into(),
            support_phone: "01 00 00 00 00".into(),
            support_hours: "8 h – 18 h".into(),
            agency_name: "ARS Île-de-France".into(),
        }
    }

    #[test]
    fn the_code_mail_has_the_code_and_the_support_contact_in_both_parts() {
        let m = sign_in_code(&recipient(), "042917", 10);
        for part in [&m.text, &m.html] {
            assert!(part.contains("042917"));
            assert!(part.contains("assistance@idf.example"));
            assert!(part.contains("10 minutes"));
        }
        assert!(m.text.starts_with("Bonjour Claire Martin,"));
    }

    #[test]
    fn links_are_escaped_in_html() {
        let mut r = recipient();
        r.given_name = "<b>Claire</b>".into();
        let m = password_link(&r, true, "https://p.example/activation?jeton=a&b", 72);
        assert!(m.html.contains("&lt;b&gt;Claire&lt;/b&gt;"));
        assert!(m.html.contains("jeton=a&amp;b"));
        assert!(m.text.contains("https://p.example/activation?jeton=a&b"));
        assert_eq!(m.kind, "activation");
    }

    #[test]
    fn removals_are_listed_and_escaped() {
        let removed = vec![
            "carte CPx (numéro de série 0a01)".to_string(),
            "téléphone « <b> »".to_string(),
        ];
        let m = sign_in_means_removed(&recipient(), &removed, Some("support.idf"));
        assert!(m.text.contains("- carte CPx (numéro de série 0a01)"));
        assert!(m.text.contains("agent : support.idf"));
        assert!(m.html.contains("<li>téléphone « &lt;b&gt; »</li>"));
        let plain = password_changed(&recipient(), &[]);
        assert!(!plain.text.contains("retirés"));
        let with = password_changed(&recipient(), &removed);
        assert!(with.text.contains("ont aussi été retirés"));
        assert!(with.text.contains("- carte CPx (numéro de série 0a01)"));
    }
}
