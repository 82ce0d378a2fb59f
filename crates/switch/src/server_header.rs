//! The domain setting `server_header` on the SIP endpoint: what our
//! messages say about us (nothing unless the operator sets a text, so a
//! scanner learns no product or version). Read at start, and again on
//! every change to the domain settings.

use sip::endpoint::ServerHeader;
use store::Store;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Reads the setting into `header`.
pub(crate) async fn apply(store: &Store, header: &ServerHeader) -> Result<(), store::Error> {
    let settings = store.settings().await?;
    let text = settings.get("server_header").as_str().unwrap_or_default().to_owned();
    if !header.set(&text) {
        // The API refuses control characters; a row written otherwise is ignored.
        tracing::warn!("server_header contains CR or LF; no Server header is sent");
        header.set("");
    }
    Ok(())
}

/// Keeps `header` true to the setting until `cancel`.
pub(crate) fn follow(store: Store, mut changes: broadcast::Receiver<store::Change>, header: ServerHeader, cancel: CancellationToken) {
    tokio::spawn(async move {
        loop {
            let change = tokio::select! {
                c = changes.recv() => c,
                _ = cancel.cancelled() => return,
            };
            let reread = match change {
                Ok(c) => c.kind == "domain_settings",
                Err(broadcast::error::RecvError::Lagged(_)) => true,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if reread {
                if let Err(e) = apply(&store, &header).await {
                    tracing::warn!(error = %e, "could not read server_header; the last one stays");
                }
            }
        }
    });
}
