//! The notification outbox queue: pending rows per receiver, batches, delivery marks.
