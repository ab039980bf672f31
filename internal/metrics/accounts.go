package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Accounts holds the merchant-registry collectors: labelled by account name
// (a bounded set, from the registry), never by sub_mchid.
type Accounts struct {
	paused  *prometheus.GaugeVec
	rate    *prometheus.GaugeVec
	held    prometheus.Gauge
	reloads *prometheus.CounterVec
}

// Accounts registers the merchant-registry collectors on m's registry; call
// it once.
func (m *Metrics) Accounts() *Accounts {
	a := &Accounts{
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ordersync_account_paused", Help: "1 while the merchant account's uploads are paused by an outage or a signing fault.",
		}, []string{"account"}),
		rate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ordersync_account_request_rate", Help: "Current adaptive request rate of the merchant account, requests per second.",
		}, []string{"account"}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ordersync_merchants_held", Help: "Sub-merchants held after merchant-level rejections (their ids are in the log).",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ordersync_registry_reloads_total", Help: "Merchant registry reloads, by result (ok or refused).",
		}, []string{"result"}),
	}
	a.reloads.WithLabelValues("ok")
	a.reloads.WithLabelValues("refused")
	m.registry.MustRegister(a.paused, a.rate, a.held, a.reloads)
	return a
}

// AccountPaused records whether one account is paused.
func (a *Accounts) AccountPaused(account string, paused bool, _ string) {
	v := 0.0
	if paused {
		v = 1
	}
	a.paused.WithLabelValues(account).Set(v)
}

// AccountRate records an account's current request rate.
func (a *Accounts) AccountRate(account string, perSecond float64) {
	a.rate.WithLabelValues(account).Set(perSecond)
}

// MerchantsHeld records the number of held sub-merchants.
func (a *Accounts) MerchantsHeld(n int) { a.held.Set(float64(n)) }

// RegistryReloaded counts one reload.
func (a *Accounts) RegistryReloaded(ok bool) {
	if ok {
		a.reloads.WithLabelValues("ok").Inc()
		return
	}
	a.reloads.WithLabelValues("refused").Inc()
}

// AccountRemoved drops the series of an account no longer in the registry.
func (a *Accounts) AccountRemoved(account string) {
	a.paused.DeleteLabelValues(account)
	a.rate.DeleteLabelValues(account)
}
