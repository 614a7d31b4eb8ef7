//! Why the simulated Dodo refuses a request: its code and message, as Dodo sends them, and what
//! kind of refusal it is (the HTTP layer gives each kind its status, see `http::error`).

/// The kinds of refusal Dodo makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// What was named does not exist (404).
    NotFound,
    /// The request cannot be done as asked (422).
    Unprocessable,
    /// The sandbox itself failed (500).
    Internal,
}

#[derive(Debug)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(kind: RefusalKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            RefusalKind::NotFound,
            "NOT_FOUND",
            format!("{what} {id} not found"),
        )
    }

    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(RefusalKind::Unprocessable, "INVALID_REQUEST_BODY", message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(RefusalKind::Unprocessable, code, message)
    }

    pub fn invalid_parameters(message: impl Into<String>) -> Self {
        Self::new(
            RefusalKind::Unprocessable,
            "INVALID_REQUEST_PARAMETERS",
            message,
        )
    }
}
