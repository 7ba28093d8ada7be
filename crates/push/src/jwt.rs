//! The two signed JWTs the providers want: APNs' provider token (ES256 with the team's
//! `.p8` key, `kid` = key id, claims `iss` = team id and `iat`) and the FCM service
//! account's OAuth assertion (RS256 with the account's private key, claims `iss`, `scope`,
//! `aud` = token endpoint, `iat`, `exp`). Keys arrive as PEM (`-----BEGIN PRIVATE KEY-----`,
//! PKCS #8) and are parsed once at start-up.

use crate::PushError;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

/// The DER inside a PEM block (any label).
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, PushError> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|e| PushError::Config(format!("the key is not PEM: {e}")))
}

fn encode(header: &Value, claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}", part(header), part(claims))
}

/// An ES256 signer (APNs).
pub struct Es256 {
    key: EcdsaKeyPair,
}

impl Es256 {
    pub fn from_pem(pem: &str) -> Result<Self, PushError> {
        let der = pem_to_der(pem)?;
        let key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
            .map_err(|e| PushError::Config(format!("not a P-256 PKCS #8 key: {e}")))?;
        Ok(Self { key })
    }

    /// `header.claims.signature` (the signature is the raw r‖s, as JWS wants).
    pub fn sign(&self, header: &Value, claims: &Value) -> Result<String, PushError> {
        let input = encode(header, claims);
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| PushError::Config("signing failed".into()))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
    }
}

/// An RS256 signer (the FCM service account).
pub struct Rs256 {
    key: RsaKeyPair,
}

impl Rs256 {
    pub fn from_pem(pem: &str) -> Result<Self, PushError> {
        let der = pem_to_der(pem)?;
        let key = RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| PushError::Config(format!("not an RSA PKCS #8 key: {e}")))?;
        Ok(Self { key })
    }

    pub fn sign(&self, header: &Value, claims: &Value) -> Result<String, PushError> {
        let input = encode(header, claims);
        let mut sig = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| PushError::Config("signing failed".into()))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}
