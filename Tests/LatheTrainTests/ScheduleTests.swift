import Testing
@testable import LatheTrain

@Suite("Schedules") struct ScheduleTests {
    // Values worked by hand: warmup 10 to peak 1, then 90 steps of decay.
    @Test func warmupThenDecay() {
        #expect(LearningRateSchedule.constant.rate(step: 5, total: 100, peak: 1, warmup: 10) == 0.5)
        #expect(LearningRateSchedule.constant.rate(step: 60, total: 100, peak: 1, warmup: 10) == 1)
        #expect(LearningRateSchedule.linear.rate(step: 55, total: 100, peak: 1, warmup: 10) == 0.5)
        #expect(LearningRateSchedule.linear.rate(step: 100, total: 100, peak: 1, warmup: 10) == 0)
        #expect(abs(LearningRateSchedule.cosine.rate(step: 55, total: 100, peak: 1, warmup: 10) - 0.55) < 1e-12)
        #expect(abs(LearningRateSchedule.cosine.rate(step: 100, total: 100, peak: 1, warmup: 10) - 0.1) < 1e-12)
    }
}
