"""Model provisioning and serving backends."""
