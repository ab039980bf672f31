//go:build !chaos

package chaos

import "testing"

func TestLedgerRebalance(t *testing.T) { ledgerRebalance(t, 200, shortTimeout) }

func TestLedgerCrashes(t *testing.T) { killLedger(t, 600, 2, shortTimeout) }
