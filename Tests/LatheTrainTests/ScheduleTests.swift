import Testing
@testable import LatheTrain

@Suite("Schedules") struct ScheduleTests {
    // Values worked by hand: warmup 10 to peak 1, then steps 11...101 decay over 90 intervals,
    // so step 56 is halfway.
    @Test func warmupThenDecay() {
        #expect(LearningRateSchedule.constant.rate(step: 5, total: 101, peak: 1, warmup: 10) == 0.5)
        #expect(LearningRateSchedule.constant.rate(step: 60, total: 101, peak: 1, warmup: 10) == 1)
        #expect(LearningRateSchedule.linear.rate(step: 11, total: 101, peak: 1, warmup: 10) == 1)
        #expect(LearningRateSchedule.linear.rate(step: 56, total: 101, peak: 1, warmup: 10) == 0.5)
        #expect(LearningRateSchedule.linear.rate(step: 101, total: 101, peak: 1, warmup: 10) == 0)
        #expect(abs(LearningRateSchedule.cosine.rate(step: 56, total: 101, peak: 1, warmup: 10) - 0.55) < 1e-12)
        #expect(abs(LearningRateSchedule.cosine.rate(step: 101, total: 101, peak: 1, warmup: 10) - 0.1) < 1e-12)
        #expect(LearningRateSchedule.cosine.rate(step: 1, total: 1, peak: 1, warmup: 0) == 1)
    }
}
