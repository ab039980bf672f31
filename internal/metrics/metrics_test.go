package metrics

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/buildcrypto"
)

// exercised returns the names of every family New registers, after each
// method was called once so that vectors have a child.
func exercised(t *testing.T) map[string]bool {
	t.Helper()
	m := New("test")
	m.OldestInFlight(func() time.Duration { return time.Second })
	m.GroupJoined(func() (bool, time.Time) { return true, time.Time{} })
	m.EventConsumed("orders")
	for _, o := range []string{"delivered", "skipped", "dead_lettered"} {
		m.EventDone(o, "rejected")
	}
	m.EndToEnd(time.Second)
	m.InFlight(3)
	m.Partitions(func(yield func(string, int, int64, int64)) { yield("orders", 0, 42, 7) })
	m.Rebalanced()
	m.DeadLetterWriteFailed()
	m.UploadAttempt("delivered", 204, 10*time.Millisecond)
	m.Paused(true, "outage")
	m.SignCPU(1500 * time.Microsecond)
	a := m.Accounts()
	a.AccountPaused("sp-east", true, "401")
	a.AccountRate("sp-east", 120)
	a.MerchantsHeld(1)
	a.RegistryReloaded(false)
	m.EventMisskeyed()
	m.LedgerWriteFailed()
	m.LedgerRestored(10, time.Second)
	m.PartitionReset("orders")
	m.LostToRetention("orders", 3)
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	return names
}

func TestFamiliesAreNamedAndExported(t *testing.T) {
	names := exercised(t)
	want := []string{
		"ordersync_events_consumed_total", "ordersync_events_delivered_total", "ordersync_events_skipped_total",
		"ordersync_events_dead_lettered_total", "ordersync_upload_attempts_total", "ordersync_upload_duration_seconds",
		"ordersync_end_to_end_latency_seconds", "ordersync_uploads_in_flight", "ordersync_oldest_in_flight_age_seconds",
		"ordersync_consumer_lag_messages", "ordersync_committed_offset", "ordersync_upload_paused",
		"ordersync_rebalances_total", "ordersync_dead_letter_write_failures_total", "ordersync_build_info",
		"ordersync_signature_cpu_seconds", "ordersync_consumer_group_joined", "ordersync_events_misskeyed_total",
		"ordersync_ledger_write_failures_total", "ordersync_ledger_restore_seconds", "ordersync_ledger_restored_records_total",
		"ordersync_partition_resets_total", "ordersync_events_lost_to_retention_total",
	}
	for _, n := range want {
		if !names[n] {
			t.Errorf("family %s not registered", n)
		}
	}
}

// TestDocsNameOnlyRealMetrics keeps the dashboard, the README and the runbook
// from drifting away from the metric names.
func TestDocsNameOnlyRealMetrics(t *testing.T) {
	names := exercised(t)
	re := regexp.MustCompile(`ordersync_[a-z_]+`)
	for _, path := range []string{"../../deploy/grafana-dashboard.json", "../../README.md", "../../docs/runbook.md"} {
		data, err := os.ReadFile(path)
		if err != nil {
			if os.IsNotExist(err) && strings.HasSuffix(path, "runbook.md") {
				continue
			}
			t.Fatal(err)
		}
		for _, loc := range re.FindAllIndex(data, -1) {
			n := string(data[loc[0]:loc[1]])
			if strings.HasSuffix(n, "_") {
				continue // a pattern such as ordersync_events_(delivered|…)
			}
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
			if !names[base] {
				t.Errorf("%s names %s, which is not a metric", path, n)
			}
		}
	}
}

// TestBuildInfoNamesTheCrypto checks that ordersync_build_info carries the
// version and which crypto the binary signs with.
func TestBuildInfoNamesTheCrypto(t *testing.T) {
	families, err := New("v1.2.3").Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "ordersync_build_info" {
			continue
		}
		labels := map[string]string{}
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] != "v1.2.3" || labels["crypto"] != buildcrypto.Name() {
			t.Fatalf("ordersync_build_info labels %v, want version v1.2.3 and crypto %q", labels, buildcrypto.Name())
		}
		return
	}
	t.Fatal("ordersync_build_info not registered")
}
