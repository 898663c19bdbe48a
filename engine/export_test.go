package engine

// UseWideKeys makes p's cycles use the wide key table even when dense keys would do, so
// tests can check both gathers.
func UseWideKeys(p *Partition) { p.st.noDense = true }

// DenseKeys reports whether p's last cycle used the dense key table.
func DenseKeys(p *Partition) bool { return p.st.denseMode }
