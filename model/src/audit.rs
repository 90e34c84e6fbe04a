//! The audit log's closed vocabulary.

use serde::{Deserialize, Serialize};

/// How an audited action ended. Stored as the PostgreSQL enum `audit_outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(
    feature = "sqlx",
    sqlx(type_name = "audit_outcome", rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Success, Outcome::Failure, Outcome::Denied];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// Every action the audit log records, by its stored name. The names are the log's API (searches,
/// exports and the chain's hashes use them): a row keeps the name it was written with, so a name
/// is never changed, only added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// An account's owner set its first password.
    AccountActivated,
    /// The desk secured a compromised account (password randomised, means removed, sessions ended).
    AccountCompromised,
    /// An activation or reset link was sent.
    AccountLinkSent,
    /// The daily job put an account to sleep (no sign-in for `[policy] inactive_days`).
    AccountDormant,
    /// The daily job warned the holder that the account will soon be dormant.
    AccountDormancyWarning,
    /// A regional administrator kept an account active (dormant or about to be).
    AccountKeepActive,
    /// The holder answered a new-device alert « ce n'était pas moi »: sessions ended, locked.
    AccountNotMe,
    /// The holder woke a dormant account with the link a sign-in e-mailed.
    AccountWake,
    /// A sign-in that proved who it is met a dormant account: its wake link was e-mailed.
    AccountWakeLinkSent,
    /// The audit log was searched.
    AdminAuditSearch,
    /// A bulk action of the console was confirmed (each account is audited by its own action).
    AdminBulk,
    /// One audit row was opened.
    AdminAuditView,
    /// The establishments were listed.
    AdminEstablishmentList,
    /// One establishment was opened.
    AdminEstablishmentView,
    /// The imports were listed.
    AdminImportList,
    /// An account's phones were listed at the desk.
    AdminTiqrView,
    /// Accounts were exported as CSV from the console's search.
    AdminUserExport,
    /// The new-account form was opened.
    AdminUserNew,
    /// Accounts were searched.
    AdminUserSearch,
    /// One account was opened.
    AdminUserView,
    /// The audit log was exported.
    AuditExport,
    /// Repeated anonymous refusals from one address, counted (one row a minute).
    AuditSummary,
    /// A pending card link was used with an account's credentials.
    AuthCardLink,
    /// An unknown card was presented: a pending link was made.
    AuthCardLinkRequired,
    /// A card sign-in was refused.
    AuthCardSignIn,
    /// An e-mail code was sent.
    AuthEmailCodeSend,
    /// An e-mail code was typed.
    AuthEmailCodeVerify,
    /// An identifier was locked after too many failures.
    AuthLockout,
    /// A password sign-in was refused.
    AuthPasswordSignIn,
    /// A password was set through a reset link.
    AuthPasswordResetDone,
    /// A reset link was asked for.
    AuthPasswordResetRequest,
    /// PSC's back-channel logout was refused.
    AuthPscBackchannelLogout,
    /// A pending PSC link was used with an account's credentials.
    AuthPscLink,
    /// An unknown PSC identity signed in: a pending link was made.
    AuthPscLinkRequired,
    /// A PSC sign-in was refused.
    AuthPscSignIn,
    /// A passkey sign-in was refused.
    AuthPasskeySignIn,
    /// The console's password confirmation.
    AuthReauthenticate,
    /// A session started (any method).
    AuthSignIn,
    /// A session ended by its holder.
    AuthSignOut,
    /// A card link was refused by the linking rules.
    CardLink,
    /// A card was linked to an account.
    CardLinked,
    /// A card was unlinked.
    CardUnlinked,
    /// An extraction of the national directory was loaded (or found unchanged, or refused).
    DirectoryImport,
    /// An establishment was created.
    EstablishmentCreate,
    /// An establishment was edited.
    EstablishmentEdit,
    /// An import was abandoned.
    ImportAbandon,
    /// An import was written.
    ImportCommit,
    /// An import was checked.
    ImportDryRun,
    /// An import was checked again.
    ImportRecheck,
    /// A file was uploaded for import.
    ImportUpload,
    /// An import created an account.
    ImportUserCreate,
    /// An import updated an account.
    ImportUserUpdate,
    /// An import was opened.
    ImportView,
    /// An e-mail was given up after its retries.
    MailAbandoned,
    /// An account was attached to an establishment (by the console, or by a PSC sign-in).
    MembershipAdd,
    /// An account was detached from an establishment.
    MembershipRemove,
    /// A news item was created (as a draft).
    NewsCreate,
    /// A news item was deleted.
    NewsDelete,
    /// A news item was edited.
    NewsEdit,
    /// A news item was published.
    NewsPublish,
    /// A published news item went back to a draft.
    NewsWithdraw,
    /// A passkey was registered for an account.
    PasskeyAdd,
    /// A passkey was removed from an account.
    PasskeyRemove,
    /// A PSC link was refused by the linking rules.
    PscLink,
    /// A PSC identity was linked to an account.
    PscLinked,
    /// A PSC identity was unlinked.
    PscUnlinked,
    /// A role was granted.
    RoleGrant,
    /// A role was revoked.
    RoleRevoke,
    /// The holder ended one of their sessions, or all the others ("Mes connexions").
    SessionEnd,
    /// The establishment of a session was chosen.
    SessionEstablishmentChoose,
    /// The holder removed one of their sign-in means.
    SignInMeansRemove,
    /// A phone was blocked after too many wrong responses.
    TiqrBlocked,
    /// A phone answered its confirmation QR.
    TiqrConfirmed,
    /// The desk's code for an enrolment was sent to the holder.
    TiqrDeskCode,
    /// A phone enrolled.
    TiqrEnroll,
    /// An enrolment started.
    TiqrEnrollStart,
    /// A wrong TIQR response.
    TiqrFailure,
    /// A phone was renamed.
    TiqrRename,
    /// A phone was revoked.
    TiqrRevoke,
    /// A TIQR sign-in was refused.
    TiqrSignIn,
    /// A phone was unblocked.
    TiqrUnblock,
    /// A phone was never confirmed (revoked).
    TiqrUnconfirmed,
    /// An account was created.
    UserCreate,
    /// An account was disabled.
    UserDisable,
    /// An account was edited.
    UserEdit,
    /// An account was enabled again.
    UserEnable,
    /// An account moved to another region.
    UserRegionChange,
    /// An account without RPPS took the one of the card linked to it.
    UserRppsFromCard,
    /// An account without RPPS took the one of the PSC identity linked to it.
    UserRppsFromPsc,
    /// The desk ended an account's sessions.
    UserSessionsEnded,
    /// An account's sign-in rules (e-mail code) were changed.
    UserSignInRules,
    /// An account was unlocked.
    UserUnlock,
}

impl Action {
    pub const ALL: [Action; 92] = [
        Action::AccountActivated,
        Action::AccountCompromised,
        Action::AccountLinkSent,
        Action::AccountDormancyWarning,
        Action::AccountDormant,
        Action::AccountKeepActive,
        Action::AccountNotMe,
        Action::AccountWake,
        Action::AccountWakeLinkSent,
        Action::AdminAuditSearch,
        Action::AdminAuditView,
        Action::AdminBulk,
        Action::AdminEstablishmentList,
        Action::AdminEstablishmentView,
        Action::AdminImportList,
        Action::AdminTiqrView,
        Action::AdminUserExport,
        Action::AdminUserNew,
        Action::AdminUserSearch,
        Action::AdminUserView,
        Action::AuditExport,
        Action::AuditSummary,
        Action::AuthCardLink,
        Action::AuthCardLinkRequired,
        Action::AuthCardSignIn,
        Action::AuthEmailCodeSend,
        Action::AuthEmailCodeVerify,
        Action::AuthLockout,
        Action::AuthPasswordSignIn,
        Action::AuthPasswordResetDone,
        Action::AuthPasswordResetRequest,
        Action::AuthPscBackchannelLogout,
        Action::AuthPscLink,
        Action::AuthPscLinkRequired,
        Action::AuthPscSignIn,
        Action::AuthPasskeySignIn,
        Action::AuthReauthenticate,
        Action::AuthSignIn,
        Action::AuthSignOut,
        Action::CardLink,
        Action::CardLinked,
        Action::CardUnlinked,
        Action::DirectoryImport,
        Action::EstablishmentCreate,
        Action::EstablishmentEdit,
        Action::ImportAbandon,
        Action::ImportCommit,
        Action::ImportDryRun,
        Action::ImportRecheck,
        Action::ImportUpload,
        Action::ImportUserCreate,
        Action::ImportUserUpdate,
        Action::ImportView,
        Action::MailAbandoned,
        Action::MembershipAdd,
        Action::MembershipRemove,
        Action::NewsCreate,
        Action::NewsDelete,
        Action::NewsEdit,
        Action::NewsPublish,
        Action::NewsWithdraw,
        Action::PasskeyAdd,
        Action::PasskeyRemove,
        Action::PscLink,
        Action::PscLinked,
        Action::PscUnlinked,
        Action::RoleGrant,
        Action::RoleRevoke,
        Action::SessionEnd,
        Action::SessionEstablishmentChoose,
        Action::SignInMeansRemove,
        Action::TiqrBlocked,
        Action::TiqrConfirmed,
        Action::TiqrDeskCode,
        Action::TiqrEnroll,
        Action::TiqrEnrollStart,
        Action::TiqrFailure,
        Action::TiqrRename,
        Action::TiqrRevoke,
        Action::TiqrSignIn,
        Action::TiqrUnblock,
        Action::TiqrUnconfirmed,
        Action::UserCreate,
        Action::UserDisable,
        Action::UserEdit,
        Action::UserEnable,
        Action::UserRegionChange,
        Action::UserRppsFromCard,
        Action::UserRppsFromPsc,
        Action::UserSessionsEnded,
        Action::UserSignInRules,
        Action::UserUnlock,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AccountActivated => "account.activated",
            Action::AccountCompromised => "account.compromised",
            Action::AccountLinkSent => "account.link_sent",
            Action::AccountDormant => "account.dormant",
            Action::AccountDormancyWarning => "account.dormancy_warning",
            Action::AccountKeepActive => "account.keep_active",
            Action::AccountNotMe => "account.not_me",
            Action::AccountWake => "account.wake",
            Action::AccountWakeLinkSent => "account.wake_link",
            Action::AdminAuditSearch => "admin.audit.search",
            Action::AdminAuditView => "admin.audit.view",
            Action::AdminBulk => "admin.user.bulk",
            Action::AdminEstablishmentList => "admin.establishment.list",
            Action::AdminEstablishmentView => "admin.establishment.view",
            Action::AdminImportList => "admin.import.list",
            Action::AdminTiqrView => "admin.tiqr.view",
            Action::AdminUserExport => "admin.user.export",
            Action::AdminUserNew => "admin.user.new",
            Action::AdminUserSearch => "admin.user.search",
            Action::AdminUserView => "admin.user.view",
            Action::AuditExport => "audit.export",
            Action::AuditSummary => "audit.summary",
            Action::AuthCardLink => "auth.card.link",
            Action::AuthCardLinkRequired => "auth.card.link_required",
            Action::AuthCardSignIn => "auth.card.sign_in",
            Action::AuthEmailCodeSend => "auth.email_code.send",
            Action::AuthEmailCodeVerify => "auth.email_code.verify",
            Action::AuthLockout => "auth.lockout",
            Action::AuthPasswordSignIn => "auth.password.sign_in",
            Action::AuthPasswordResetDone => "auth.password_reset.done",
            Action::AuthPasswordResetRequest => "auth.password_reset.request",
            Action::AuthPscBackchannelLogout => "auth.psc.backchannel_logout",
            Action::AuthPscLink => "auth.psc.link",
            Action::AuthPscLinkRequired => "auth.psc.link_required",
            Action::AuthPscSignIn => "auth.psc.sign_in",
            Action::AuthPasskeySignIn => "auth.passkey.sign_in",
            Action::AuthReauthenticate => "auth.reauthenticate",
            Action::AuthSignIn => "auth.sign_in",
            Action::AuthSignOut => "auth.sign_out",
            Action::CardLink => "card.link",
            Action::CardLinked => "card.linked",
            Action::CardUnlinked => "card.unlinked",
            Action::EstablishmentCreate => "establishment.create",
            Action::EstablishmentEdit => "establishment.edit",
            Action::ImportAbandon => "import.abandon",
            Action::ImportCommit => "import.commit",
            Action::DirectoryImport => "directory.import",
            Action::NewsCreate => "news.create",
            Action::NewsDelete => "news.delete",
            Action::NewsEdit => "news.edit",
            Action::NewsPublish => "news.publish",
            Action::NewsWithdraw => "news.withdraw",
            Action::ImportDryRun => "import.dry_run",
            Action::ImportRecheck => "import.recheck",
            Action::ImportUpload => "import.upload",
            Action::ImportUserCreate => "import.user.create",
            Action::ImportUserUpdate => "import.user.update",
            Action::ImportView => "import.view",
            Action::MailAbandoned => "mail.abandoned",
            Action::MembershipAdd => "membership.add",
            Action::MembershipRemove => "membership.remove",
            Action::PasskeyAdd => "passkey.add",
            Action::PasskeyRemove => "passkey.remove",
            Action::PscLink => "psc.link",
            Action::PscLinked => "psc.linked",
            Action::PscUnlinked => "psc.unlinked",
            Action::RoleGrant => "role.grant",
            Action::RoleRevoke => "role.revoke",
            Action::SessionEnd => "session.end",
            Action::SessionEstablishmentChoose => "session.establishment.choose",
            Action::SignInMeansRemove => "sign_in_means.remove",
            Action::TiqrBlocked => "tiqr.blocked",
            Action::TiqrConfirmed => "tiqr.confirmed",
            Action::TiqrDeskCode => "tiqr.desk_code",
            Action::TiqrEnroll => "tiqr.enroll",
            Action::TiqrEnrollStart => "tiqr.enroll_start",
            Action::TiqrFailure => "tiqr.failure",
            Action::TiqrRename => "tiqr.rename",
            Action::TiqrRevoke => "tiqr.revoke",
            Action::TiqrSignIn => "tiqr.sign_in",
            Action::TiqrUnblock => "tiqr.unblock",
            Action::TiqrUnconfirmed => "tiqr.unconfirmed",
            Action::UserCreate => "user.create",
            Action::UserDisable => "user.disable",
            Action::UserEdit => "user.edit",
            Action::UserEnable => "user.enable",
            Action::UserRegionChange => "user.region_change",
            Action::UserRppsFromCard => "user.rpps_from_card",
            Action::UserRppsFromPsc => "user.rpps_from_psc",
            Action::UserSessionsEnded => "user.sessions_ended",
            Action::UserSignInRules => "user.sign_in_rules",
            Action::UserUnlock => "user.unlock",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_distinct_and_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
            assert!(
                a.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'),
                "{a:?}"
            );
        }
        let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
    }
}
