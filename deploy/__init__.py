"""Deployment assets: the Docker-free local stack (``deploy.local``) and the Dockerfile."""
