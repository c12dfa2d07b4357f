import { describe, expect, it } from 'vitest';
import { parseSimulateArgs, UsageError } from './args.ts';

describe('parseSimulateArgs', () => {
  it('reads rate, duration and customers', () => {
    expect(parseSimulateArgs(['--rate', '200', '--duration', '60', '--customers', '5'])).toEqual({
      rate: 200,
      durationS: 60,
      customers: 5,
      help: false,
    });
    expect(parseSimulateArgs(['--rate=0.5'])).toMatchObject({ rate: 0.5, durationS: 60, customers: 20 });
  });

  it('requires a rate', () => {
    expect(() => parseSimulateArgs(['--duration', '5'])).toThrow(/--rate is required/);
  });

  it.each([
    [['--rate', 'abc'], /--rate must be a positive number, got "abc"/],
    [['--rate', '0'], /--rate must be a positive number/],
    [['--rate=-5'], /--rate must be a positive number/],
    [['--rate', '10', '--duration', 'Infinity'], /--duration must be a positive number/],
    [['--rate', '10', '--customers', '2.5'], /--customers must be a whole number/],
    [['--rate', '10', '--bogus'], /bogus/],
    [['--rate', '10', 'extra'], /extra/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseSimulateArgs(argv)).toThrow(UsageError);
    expect(() => parseSimulateArgs(argv)).toThrow(message);
  });

  it('answers --help without other flags', () => {
    expect(parseSimulateArgs(['--help']).help).toBe(true);
  });
});
