"""The audit log: who listened to, downloaded or changed what."""
