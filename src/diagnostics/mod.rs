//! Diagnostics: log-error coalescing, crash reports, last_error and its log-once rule, backtraces.
