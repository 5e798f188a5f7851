# kube-gameday. The two commands README.md names: `make gameday` and `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
CACHE ?= $(HOME)/.cache/kube-gameday
VENV := .venv
export PATH := $(CACHE)/bin:$(PATH)
# kubectl, the tests and the suite talk to this context only
export KUBE_CONTEXT ?= kind-gameday

.PHONY: setup cluster-deps cluster cluster-down node-image test test-unit test-e2e gameday clean

## setup: the virtualenv with the suite and its pinned dependencies (idempotent)
setup: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

## cluster-deps: Debian packages the cluster build needs (docker.io, debootstrap, gcc)
cluster-deps:
	cluster/scripts/deps.sh

## cluster: the kind cluster of kind-config.yaml (OFFLINE=1 forces the local node-image build)
cluster: cluster-deps
	cluster/scripts/up.sh

## cluster-down: delete the cluster, keep the build cache
cluster-down:
	cluster/scripts/down.sh

## node-image: build (or confirm cached) the offline kind node image only
node-image: cluster-deps
	cluster/scripts/docker-up.sh
	cluster/scripts/build-node-image.sh

## test: every test, the cluster ones against the cluster `make cluster` brings up
test: setup cluster
	$(VENV)/bin/pytest

test-unit: setup
	$(VENV)/bin/pytest -m 'not cluster'

test-e2e: setup cluster
	$(VENV)/bin/pytest -m cluster

## gameday: the main job (the runner lands with the game-day issue; today: the cluster)
gameday: setup cluster
	@echo "cluster ready (context $(KUBE_CONTEXT)); the game-day runner is not built yet"

clean:
	rm -rf $(VENV) runs .pytest_cache
