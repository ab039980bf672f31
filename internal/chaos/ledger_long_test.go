//go:build chaos

package chaos

import "testing"

// The figures: 5 SIGKILLs under load, 4,000 orders, 32 in flight.
func TestLedgerCrashesLong(t *testing.T) { killLedger(t, 4000, 5, longTimeout) }

func TestLedgerRebalanceLong(t *testing.T) { ledgerRebalance(t, 2000, longTimeout) }
