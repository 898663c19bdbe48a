package engine

// UseWideKeys makes p's cycles use the wide key table even when dense keys would do, so
// tests can check both gathers.
func UseWideKeys(p *Partition) { p.st.noDense = true }

// DenseKeys reports whether p's last cycle used the dense key table.
func DenseKeys(p *Partition) bool { return p.st.denseMode }

// SetAppendParallelism makes b.Append use up to workers goroutines (1: the serial path
// only), one per minRows rows of a batch.
func SetAppendParallelism(b *Builder, workers, minRows int) { b.workers, b.minRows = workers, minRows }

// BuilderTables is b's state without its scratch space, for reflect.DeepEqual.
func BuilderTables(b *Builder) Builder {
	c := *b
	c.fps, c.ts, c.checks, c.kind, c.first, c.list = nil, nil, nil, nil, nil, nil
	c.workers, c.minRows = 0, 0
	return c
}
