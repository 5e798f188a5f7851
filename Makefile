# kube-gameday. The two commands README.md names: `make gameday` and `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
CACHE ?= $(HOME)/.cache/kube-gameday
VENV := .venv
export PATH := $(CACHE)/bin:$(PATH)
# kubectl, the tests and the suite talk to this context only
export KUBE_CONTEXT ?= kind-gameday

.PHONY: setup cluster-deps cluster cluster-down deploy deploy-podinfo deploy-runner undeploy rules node-image test test-unit test-integration test-e2e gameday clean bench-load bench-report bench-scale

# Debian packages: Prometheus and promtool (the tests' real Prometheus, rule tests), Alertmanager
# (the integration tests' delivery chain), wrk (bench), Chromium (the integration test that renders
# a report headless: no console errors, a screenshot under runs/screenshots/) and a font for its
# text (chromium only recommends one, and apt-install.sh installs no recommends)
SETUP_PACKAGES := prometheus prometheus-alertmanager wrk chromium fonts-liberation
CLUSTER_PACKAGES := docker.io debootstrap gcc libc6-dev

## setup: Debian packages and the virtualenv with the suite's pinned dependencies (idempotent)
setup: $(VENV)/.installed
	scripts/apt-install.sh $(SETUP_PACKAGES)
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[service,test]'
	touch $@

## cluster-deps: Debian packages the cluster build needs, and Go to build kind and Kubernetes
cluster-deps:
	scripts/apt-install.sh $(CLUSTER_PACKAGES)
	@command -v go >/dev/null || { echo "Go >= 1.24 is required (kind and Kubernetes are built from Go modules)"; exit 1; }

## cluster: the kind cluster of kind-config.yaml (OFFLINE=1 forces the local node-image build);
## KWOK_NODES=N adds N simulated nodes in its three zones (0 removes them; unset keeps them)
cluster: cluster-deps
	KWOK_NODES=$(KWOK_NODES) cluster/scripts/up.sh

## cluster-down: delete the cluster, keep the build cache
cluster-down:
	cluster/scripts/down.sh

## deploy: the stack under test and its monitoring on the cluster, waiting until all is up (setup
## first: the service image's dependencies are fetched with the virtualenv's pip)
deploy: setup cluster
	deploy/scripts/deploy.sh

## deploy-podinfo: a stack this project did not write, as a user deploys theirs (examples/podinfo:
## podinfo built offline from its source module, its own manifests under an overlay), namespace
## podinfo, http://127.0.0.1:30100: what "Test your own stack" in README.md runs the suite on. The
## tests deploy it for their own while and delete it after: its pods share the workers with the
## seed stack, and the guard refuses the seed's node game days while they do
deploy-podinfo: cluster
	examples/podinfo/deploy.sh

## deploy-runner: the suite's own image and deploy/runner (RBAC + a suspended nightly CronJob), for
## game days run from inside the cluster: `kubectl create job --from=cronjob/gameday-nightly NAME -n gameday`
deploy-runner: deploy
	deploy/scripts/runner-image.sh >/dev/null
	kubectl --context $(KUBE_CONTEXT) apply -k deploy/runner

## undeploy: remove the stack and its monitoring
undeploy:
	deploy/scripts/undeploy.sh

## rules: regenerate deploy/monitoring/rules/kind/ (burn-rate windows / stack.yaml's divisor)
rules: setup
	$(VENV)/bin/python -m gameday.burn_rate

## node-image: build (or confirm cached) the offline kind node image only
node-image: cluster-deps
	cluster/scripts/docker-up.sh
	cluster/scripts/build-node-image.sh

## test: every test, the cluster ones against the cluster and stack `make deploy` brings up;
## of the game days, the CI subset (experiments tagged `ci`; `make gameday` runs them all)
test: setup deploy
	$(VENV)/bin/pytest -m "not long" --durations=30

## test-unit / test-integration / test-e2e: pure functions / real Prometheus, service, Locust
## on loopback / the kind cluster
test-unit: setup
	$(VENV)/bin/pytest tests/unit

test-integration: setup
	$(VENV)/bin/pytest tests/integration

test-e2e: setup deploy
	$(VENV)/bin/pytest tests/e2e

## gameday: the main job: every game day of experiments/ on the seed stack (cluster and stack
## brought up if needed), then the long defects that show the verdicts can fail, then pod-kill,
## drain and hpa-scale-out on podinfo as a new user runs them (README "Test your own stack"), and
## the interrupt variants CI leaves out;
## verdicts and artifacts under runs/<UTC>-pytest/<test>-<experiment>/
gameday: setup deploy
	@status=0; $(VENV)/bin/pytest tests/gameday/test_game_days.py tests/gameday/test_verdicts_can_fail.py \
	  tests/gameday/test_your_own_stack.py \
	  'tests/gameday/test_interrupts.py::test_an_interrupt_rolls_back_and_leaves_nothing[drain-mid-drain]' \
	  'tests/gameday/test_interrupts.py::test_an_error_in_the_runner_rolls_back_and_ends_the_run_as_an_error[exception]' \
	  --junitxml=runs/junit-gameday.xml || status=$$?; \
	echo "game-day reports:"; ls -d $$(ls -td runs/*-pytest | head -1)/*/report.html; exit $$status

clean:
	rm -rf $(VENV) runs .pytest_cache

## bench-report: time and peak memory to build one report for a 24 h soak at 1 s (synthesised; goal ≤ 5 s, ≤ 300 MB)
bench-report: setup
	$(VENV)/bin/python -m reports.bench

## bench-scale: the readiness sampler (CPU, event lag), the judge and the report at 100, 1,000 and
## 10,000 pods of a scaled copy on BENCH_NODES simulated nodes (default 1000), with the ratios
## (BENCH_PODS=100,1000 for a shorter run; gameday/bench.py)
bench-scale: setup deploy
	$(VENV)/bin/python -m gameday.bench

## bench-load: requests per second per generator core of wrk, Locust with 1 worker and with 2,
## against nginx on loopback (a target that is not the bottleneck: see loadtests/bench.py)
bench-load: setup
	scripts/apt-install.sh nginx
	$(VENV)/bin/python -m loadtests.bench
