package metrics

import (
	"testing"
)

// gathered returns each sample of the registry as "name{labels}" → value.
func gathered(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			key := f.GetName()
			for _, l := range s.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case s.GetGauge() != nil:
				out[key] = s.GetGauge().GetValue()
			case s.GetCounter() != nil:
				out[key] = s.GetCounter().GetValue()
			}
		}
	}
	return out
}

func TestAccountMetricsAreLabelledByAccountOnly(t *testing.T) {
	m := New("test")
	a := m.Accounts()
	a.AccountPaused("bank-channel", true, "401 SIGN_ERROR")
	a.AccountRate("bank-channel", 42.5)
	a.MerchantsHeld(2)
	a.RegistryReloaded(true)
	a.RegistryReloaded(false)
	a.RegistryReloaded(false)
	got := gathered(t, m)
	for k, want := range map[string]float64{
		"ordersync_account_paused{account=bank-channel}":       1,
		"ordersync_account_request_rate{account=bank-channel}": 42.5,
		"ordersync_merchants_held":                             2,
		"ordersync_registry_reloads_total{result=ok}":          1,
		"ordersync_registry_reloads_total{result=refused}":     2,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
	a.AccountRemoved("bank-channel")
	if _, ok := gathered(t, m)["ordersync_account_paused{account=bank-channel}"]; ok {
		t.Error("the paused series stays after the account was removed")
	}
}
