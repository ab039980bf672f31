// Package metrics exports the worker's Prometheus metrics. Its Metrics type
// implements the observer interfaces that internal/consumer and
// internal/uploader declare. Labels stay low in cardinality: no order or event
// ids, only outcomes, classes, HTTP statuses, topics and partitions.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ordersync/ordersync/internal/buildcrypto"
)

// Metrics holds every ordersync_* collector, registered on its own registry.
type Metrics struct {
	registry *prometheus.Registry

	consumed       *prometheus.CounterVec
	delivered      prometheus.Counter
	skipped        *prometheus.CounterVec
	deadLettered   *prometheus.CounterVec
	attempts       *prometheus.CounterVec
	uploadDuration prometheus.Histogram
	endToEnd       prometheus.Histogram
	inFlight       prometheus.Gauge
	paused         prometheus.Gauge
	rebalances     prometheus.Counter
	dlqFailures    prometheus.Counter
	signCPU        prometheus.Histogram
	resets         *prometheus.CounterVec
	lostRetention  *prometheus.CounterVec
	misskeyed      prometheus.Counter
	ledgerFailures prometheus.Counter
	restoreTime    prometheus.Histogram
	restored       prometheus.Counter
}

// New registers the collectors, the Go runtime and process collectors, and
// ordersync_build_info{version,crypto}, crypto being buildcrypto.Name().
func New(version string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordersync_events_consumed_total", Help: "Events read from the source topics.",
		}, []string{"topic"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ordersync_events_delivered_total", Help: "Events uploaded and answered 204.",
		}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordersync_events_skipped_total", Help: "Events acknowledged without upload, by reason: skip_list (ORDERSYNC_SKIP_TYPES) or the ledger's already_paid, stale, already_delivered.",
		}, []string{"reason"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordersync_events_dead_lettered_total", Help: "Events written to the dead-letter topic, by error class.",
		}, []string{"class"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordersync_upload_attempts_total", Help: "Upload requests by result class and HTTP status (0 = no answer).",
		}, []string{"result", "http_status"}),
		uploadDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ordersync_upload_duration_seconds", Help: "Duration of one upload request.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		endToEnd: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ordersync_end_to_end_latency_seconds", Help: "Kafka record timestamp to the 204 of its upload.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 14),
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ordersync_uploads_in_flight", Help: "Events being uploaded or waiting between retries.",
		}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ordersync_upload_paused", Help: "1 while uploads are paused by an API outage or a signing fault.",
		}),
		rebalances: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ordersync_rebalances_total", Help: "Consumer-group generations joined.",
		}),
		dlqFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ordersync_dead_letter_write_failures_total", Help: "Failed dead-letter writes (each is retried; nothing is committed past it).",
		}),
		signCPU: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ordersync_signature_cpu_seconds", Help: "CPU time of one request signature (RSA-2048 SHA256withRSA) on the signing thread.",
			Buckets: prometheus.ExponentialBuckets(0.00025, 1.5, 12),
		}),
		misskeyed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ordersync_events_misskeyed_total", Help: "Mapped events whose message key is empty or not their order number.",
		}),
		ledgerFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ordersync_ledger_write_failures_total", Help: "Failed ledger writes (each is retried; nothing is committed past its event).",
		}),
		restoreTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ordersync_ledger_restore_seconds", Help: "Time to restore one partition's ledger state.",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 10),
		}),
		restored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ordersync_ledger_restored_records_total", Help: "Ledger records read by restores.",
		}),
	}
	m.resets = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ordersync_partition_resets_total", Help: "Partitions restarted from their first offset: the position was past the end (topic recreated or truncated).",
	}, []string{"topic"})
	m.lostRetention = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ordersync_events_lost_to_retention_total", Help: "Events removed by retention before they were processed.",
	}, []string{"topic"})
	reg.MustRegister(m.resets, m.lostRetention)
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ordersync_build_info", Help: "Always 1; the version label names the build, crypto what it signs with (boringcrypto or go).",
		ConstLabels: prometheus.Labels{"version": version, "crypto": buildcrypto.Name()},
	})
	build.Set(1)
	reg.MustRegister(m.consumed, m.delivered, m.skipped, m.deadLettered, m.attempts, m.uploadDuration,
		m.endToEnd, m.inFlight, m.paused, m.rebalances, m.dlqFailures, m.signCPU, build,
		m.misskeyed, m.ledgerFailures, m.restoreTime, m.restored,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry to serve on /metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// OldestInFlight registers ordersync_oldest_in_flight_age_seconds, read from
// age at each scrape.
func (m *Metrics) OldestInFlight(age func() time.Duration) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ordersync_oldest_in_flight_age_seconds", Help: "Age of the oldest event being uploaded or waiting between retries.",
	}, func() float64 { return age().Seconds() }))
}

// EventConsumed counts one event read from topic.
func (m *Metrics) EventConsumed(topic string) { m.consumed.WithLabelValues(topic).Inc() }

// EventDone counts one finished event: outcome is delivered, skipped or
// dead_lettered, class the dead-letter class or the skip reason.
func (m *Metrics) EventDone(outcome, class string) {
	switch outcome {
	case "delivered":
		m.delivered.Inc()
	case "skipped":
		m.skipped.WithLabelValues(class).Inc()
	default:
		m.deadLettered.WithLabelValues(class).Inc()
	}
}

// SignCPU observes the CPU time of one request signature.
func (m *Metrics) SignCPU(d time.Duration) { m.signCPU.Observe(d.Seconds()) }

// EndToEnd observes the time from the Kafka record timestamp to its 204.
func (m *Metrics) EndToEnd(d time.Duration) { m.endToEnd.Observe(d.Seconds()) }

// InFlight sets the number of events in flight.
func (m *Metrics) InFlight(n int) { m.inFlight.Set(float64(n)) }

// Rebalanced counts a new consumer-group generation.
func (m *Metrics) Rebalanced() { m.rebalances.Inc() }

// DeadLetterWriteFailed counts a failed dead-letter write.
func (m *Metrics) DeadLetterWriteFailed() { m.dlqFailures.Inc() }

// UploadAttempt counts one upload request and observes its duration.
func (m *Metrics) UploadAttempt(result string, httpStatus int, d time.Duration) {
	m.attempts.WithLabelValues(result, strconv.Itoa(httpStatus)).Inc()
	m.uploadDuration.Observe(d.Seconds())
}

// Paused records whether uploads are paused; the reason goes to /readyz.
func (m *Metrics) Paused(paused bool, _ string) {
	if paused {
		m.paused.Set(1)
	} else {
		m.paused.Set(0)
	}
}

// PartitionReset counts a partition restarted from its first offset.
func (m *Metrics) PartitionReset(topic string) { m.resets.WithLabelValues(topic).Inc() }

// LostToRetention counts n events removed by retention before they were processed.
func (m *Metrics) LostToRetention(topic string, n int64) {
	m.lostRetention.WithLabelValues(topic).Add(float64(n))
}

var (
	lagDesc = prometheus.NewDesc("ordersync_consumer_lag_messages",
		"High watermark minus the committed offset, per partition this instance holds.", []string{"topic", "partition"}, nil)
	committedDesc = prometheus.NewDesc("ordersync_committed_offset",
		"Offset committed for the group (the next to consume), per partition this instance holds.", []string{"topic", "partition"}, nil)
)

// Partitions registers ordersync_consumer_lag_messages and
// ordersync_committed_offset, read from states at each scrape: one series
// per partition states yields, none for partitions no longer held.
func (m *Metrics) Partitions(states func(yield func(topic string, partition int, committed, lag int64))) {
	m.registry.MustRegister(partitionCollector(states))
}

type partitionCollector func(yield func(topic string, partition int, committed, lag int64))

func (partitionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lagDesc
	ch <- committedDesc
}

func (states partitionCollector) Collect(ch chan<- prometheus.Metric) {
	states(func(topic string, partition int, committed, lag int64) {
		p := strconv.Itoa(partition)
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(lag), topic, p)
		ch <- prometheus.MustNewConstMetric(committedDesc, prometheus.GaugeValue, float64(committed), topic, p)
	})
}

// GroupJoined registers ordersync_consumer_group_joined, 1 while joined
// reports a membership of the consumer group, read at each scrape.
func (m *Metrics) GroupJoined(joined func() (bool, time.Time)) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ordersync_consumer_group_joined", Help: "1 while the instance is a member of its consumer group, else 0.",
	}, func() float64 {
		if ok, _ := joined(); ok {
			return 1
		}
		return 0
	}))
}

// EventMisskeyed counts a mapped event whose key is empty or not its order number.
func (m *Metrics) EventMisskeyed() { m.misskeyed.Inc() }

// LedgerWriteFailed counts a failed ledger write.
func (m *Metrics) LedgerWriteFailed() { m.ledgerFailures.Inc() }

// LedgerRestored observes one partition's ledger restore.
func (m *Metrics) LedgerRestored(records int, d time.Duration) {
	m.restored.Add(float64(records))
	m.restoreTime.Observe(d.Seconds())
}
