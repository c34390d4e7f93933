import { applyTransform } from './values';

describe('partition transforms', () => {
  it('hour: whole hours since the epoch, floored (spec "Partition Transforms")', () => {
    expect(applyTransform('hour', 'timestamptz', 0n)).toBe(0);
    expect(applyTransform('hour', 'timestamptz', 3_599_999_999n)).toBe(0);
    expect(applyTransform('hour', 'timestamptz', 3_600_000_000n)).toBe(1);
    expect(applyTransform('hour', 'timestamptz', 1_763_859_600_000_000n)).toBe(489_961);
    expect(applyTransform('hour', 'timestamptz', -1n)).toBe(-1);
    expect(applyTransform('hour', 'timestamptz', null)).toBeNull();
  });
});
