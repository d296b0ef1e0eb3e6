# SLURM test on a single-node cluster on localhost (root, Debian 12 / slurm 22.05).
# Included from the Makefile:  include mk/slurm.mk
#   make test-slurm    set up the cluster, run tests/test_slurm.py, always tear it down
SLURM_TEST_DIR ?= /tmp/marrowtox-slurm
.PHONY: test-slurm slurm-up slurm-down

slurm-up:
	SLURM_TEST_DIR=$(SLURM_TEST_DIR) bash scripts/slurm/setup.sh

slurm-down:
	SLURM_TEST_DIR=$(SLURM_TEST_DIR) bash scripts/slurm/teardown.sh

test-slurm: $(STAMP)
	@start=$$(date +%s); \
	SLURM_TEST_DIR=$(SLURM_TEST_DIR) bash scripts/slurm/setup.sh || { bash scripts/slurm/teardown.sh; exit 1; }; \
	SLURM_CONF=$(SLURM_TEST_DIR)/etc/slurm.conf MARROWTOX_TEST_SLURM=1 \
	  $(BIN)/python -m pytest -v -m slurm -p no:cacheprovider tests/test_slurm.py; rc=$$?; \
	SLURM_TEST_DIR=$(SLURM_TEST_DIR) bash scripts/slurm/teardown.sh; \
	echo "test-slurm: exit $$rc after $$(( $$(date +%s) - start )) s"; exit $$rc
