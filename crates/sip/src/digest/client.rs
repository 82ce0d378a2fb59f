//! The client's side: the credentials that answer a peer's 401/407
//! challenge.

use super::{expected_response, Authorization, Challenge, DigestError, Qop, Secret};

/// The client's answer to `challenge` for a request `method uri`, e.g. to
/// an upstream gateway's 401/407. `cnonce` should be fresh random text and
/// `nc` counts the requests made with this nonce, starting at 1.
pub fn respond(
    challenge: &Challenge,
    method: &str,
    uri: &str,
    username: &str,
    password: &str,
    cnonce: &str,
    nc: u32,
) -> Result<Authorization, DigestError> {
    let qop = if challenge.qop.contains(&Qop::Auth) {
        Some(Qop::Auth)
    } else if challenge.qop.is_empty() {
        if challenge.algorithm.is_session() {
            return Err(DigestError::SessWithoutQop);
        }
        None
    } else {
        return Err(DigestError::UnsupportedQop(Qop::AuthInt.as_str().to_owned()));
    };
    let mut auth = Authorization {
        username: username.to_owned(),
        realm: challenge.realm.clone(),
        nonce: challenge.nonce.clone(),
        uri: uri.to_owned(),
        response: String::new(),
        algorithm: challenge.algorithm,
        qop,
        nc: qop.map(|_| nc),
        cnonce: qop.map(|_| cnonce.to_owned()),
        opaque: challenge.opaque.clone(),
    };
    // Never `None` here: qop=auth carries cnonce and nc, and -sess without
    // qop was refused above.
    auth.response = expected_response(&auth, method, Secret::Password(password)).ok_or(DigestError::MissingParam("cnonce"))?;
    Ok(auth)
}
