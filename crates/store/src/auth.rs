//! Logins and secrets: Argon2 password hashes, API credentials, operator and
//! customer users, the first operator login of a fresh store, and the one
//! live UI session per customer.

use crate::record::Input;
use crate::{Actor, Error, Result, Scope, Store};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use domain::schema;
use rand::Rng;
use sqlx::Row as _;

/// A random alphanumeric string (secrets, passwords, token ids).
pub fn random_token(len: usize) -> String {
    rand::thread_rng().sample_iter(rand::distributions::Alphanumeric).take(len).map(char::from).collect()
}

/// Argon2id hash in PHC form, computed off the async threads.
pub async fn hash_password(plain: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(plain.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| Error::Hash)
    })
    .await
    .map_err(|_| Error::Hash)?
}

/// Checks a password against a PHC hash, off the async threads.
pub async fn verify_password(plain: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(plain.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A stored login: who it is and the hash to check against.
#[derive(Debug, Clone)]
pub struct Login {
    pub id: i64,
    pub customer_id: Option<i64>,
    pub hash: String,
}

impl Store {
    async fn login(&self, sql: &str, username: &str) -> Result<Option<Login>> {
        let row = sqlx::query(sql).bind(username).fetch_optional(&self.pool).await?;
        row.map(|r| Ok(Login { id: r.try_get("id")?, customer_id: r.try_get("customer_id")?, hash: r.try_get("hash")? })).transpose()
    }

    /// An API credential by its username.
    pub async fn api_credential(&self, username: &str) -> Result<Option<Login>> {
        self.login("SELECT id, customer_id, secret_hash AS hash FROM api_credentials WHERE username = $1", username).await
    }

    pub async fn operator_user(&self, username: &str) -> Result<Option<Login>> {
        self.login(
            "SELECT id, CAST(NULL AS BIGINT) AS customer_id, password_hash AS hash FROM operator_users WHERE username = $1",
            username,
        )
        .await
    }

    pub async fn customer_user(&self, username: &str) -> Result<Option<Login>> {
        self.login("SELECT id, customer_id, password_hash AS hash FROM customer_users WHERE username = $1", username).await
    }

    /// Records when a credential was last used (callers rate-limit this).
    pub async fn touch_api_credential(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE api_credentials SET last_used_at = $1 WHERE id = $2")
            .bind(domain::time::now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// On a store without operator users, creates the first operator login
    /// and an API credential with the same name and password. Returns them
    /// when it did; the password is random unless given.
    pub async fn bootstrap_operator(&self, given: Option<(String, String)>) -> Result<Option<(String, String)>> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM operator_users").fetch_one(&self.pool).await?.try_get("n")?;
        if n > 0 {
            return Ok(None);
        }
        let (user, password) = given.unwrap_or_else(|| ("admin".to_owned(), random_token(20)));
        let actor = Actor::system();
        let u = Input::default().with(&schema::OPERATOR_USERS, "username", user.as_str()).with(
            &schema::OPERATOR_USERS,
            "password",
            password.as_str(),
        );
        self.create(&schema::OPERATOR_USERS, &actor, u).await?;
        let c = Input::default()
            .with(&schema::API_CREDENTIALS, "username", user.as_str())
            .with(&schema::API_CREDENTIALS, "secret", password.as_str())
            .with(&schema::API_CREDENTIALS, "name", "first operator credential");
        self.create(&schema::API_CREDENTIALS, &actor, c).await?;
        Ok(Some((user, password)))
    }

    /// A server secret created with the store (e.g. `session_key`).
    pub async fn server_secret(&self, name: &str) -> Result<String> {
        let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1").bind(name).fetch_optional(&self.pool).await?;
        Ok(row.ok_or(Error::NotFound)?.try_get("value")?)
    }

    /// Makes `token_id` the customer's one live session, cancelling any
    /// previous one.
    pub async fn start_customer_session(&self, customer: i64, token_id: &str, expires_at: i64) -> Result<()> {
        let _guard = self.write_lock.lock().await;
        self.get(&schema::CUSTOMERS, Scope::Operator, customer).await?;
        sqlx::query(
            "INSERT INTO customer_sessions (customer_id, token_id, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (customer_id) DO UPDATE SET token_id = excluded.token_id, expires_at = excluded.expires_at",
        )
        .bind(customer)
        .bind(token_id)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether `token_id` is still the customer's live session.
    pub async fn customer_session_live(&self, customer: i64, token_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT token_id, expires_at FROM customer_sessions WHERE customer_id = $1")
            .bind(customer)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<String, _>("token_id")? == token_id && r.try_get::<i64, _>("expires_at")? > domain::time::now_ms(),
            None => false,
        })
    }
}
