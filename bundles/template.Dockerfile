# syntax=docker/dockerfile-upstream:1.4.0
# Invocation image of the bundles that deploy Bicep with the az mixin (infrastructure,
# application): porter.yaml `dockerfile: template.Dockerfile`; build/bundles/build.sh stages this
# file next to each manifest, and test/bundles checks it (TestInvocationImageTemplate).
#
# Why a template instead of Porter's default base:
# - Porter's default base is debian:stable-slim, which is now Debian 13; the az mixin's
#   packages and Bicep's ICU library are those of Debian 12. The base is pinned here to
#   Debian 12; move it only together with BICEP_ICU below and the packages' test.
# - The az mixin's `installBicep: true` runs `az bicep install` as root, which puts Bicep
#   under /root/.azure, where the invocation image's user (nonroot, home /home/nonroot) never
#   looks. Bicep is installed below into /usr/local/bin instead, and az is told to use the
#   binary on PATH: nothing the steps need lives under /root.
FROM debian:12-slim

# PORTER_INIT

ARG BICEP_VERSION=v0.33.93
ARG BICEP_ICU=libicu72
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl ${BICEP_ICU} \
    && rm -rf /var/lib/apt/lists/*

# PORTER_MIXINS

# Bicep for every user: installed with az into a scratch config directory (so nothing lands in
# /root), copied to /usr/local/bin, and selected with az's bicep.use_binary_from_path setting
# (as environment: AZURE_BICEP_USE_BINARY_FROM_PATH); no download at run time.
RUN AZURE_CONFIG_DIR=/tmp/az-build az bicep install --version ${BICEP_VERSION} \
    && install -m 0755 /tmp/az-build/bin/bicep /usr/local/bin/bicep \
    && rm -rf /tmp/az-build \
    && bicep --version
ENV AZURE_BICEP_USE_BINARY_FROM_PATH=true \
    AZURE_BICEP_CHECK_VERSION=false

# Use the BUNDLE_DIR build argument to copy files into the bundle's working directory
COPY --link . ${BUNDLE_DIR}
