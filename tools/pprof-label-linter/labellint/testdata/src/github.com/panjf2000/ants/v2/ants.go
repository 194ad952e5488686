// Package ants is a stub of github.com/panjf2000/ants/v2's API for the tests.
package ants

func Submit(task func()) error { return nil }

type Pool struct{}

func (p *Pool) Submit(task func()) error { return nil }
