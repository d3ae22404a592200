package pipeline

// A Stage is a reusable step from a stream of In to a stream of Out, such as
// a fetch followed by a decode. Any function built from Map and friends can be
// a Stage, and Then joins two stages into one, checked by the compiler.
type Stage[In, Out any] func(Stream[In]) Stream[Out]

// Then returns the stage that runs first, then second.
//
// A stage function that takes options, as most do, is not a Stage as it
// stands, and Go cannot infer the types of a generic one: fix its options
// in a function literal first.
//
//	fetchItems := pipeline.Then(
//		func(s pipeline.Stream[stages.Request]) pipeline.Stream[stages.Record] {
//			return stages.Fetch(s, stages.WithConcurrency(8))
//		},
//		func(s pipeline.Stream[stages.Record]) pipeline.Stream[stages.Decoded[Item]] {
//			return stages.DecodeAs[Item](s)
//		})
func Then[A, B, C any](first Stage[A, B], second Stage[B, C]) Stage[A, C] {
	return func(s Stream[A]) Stream[C] { return second(first(s)) }
}
