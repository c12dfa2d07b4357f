import { describe, expect, it } from 'vitest';
import { EncodedFrame } from './encoded-frame.ts';

describe('EncodedFrame', () => {
  it('splices a shared middle into frames whose text and bytes equal those of the whole', () => {
    // Multi-byte characters on both sides of each seam: a copy must not split or re-encode them.
    const middle = new EncodedFrame('[{"customerName":"Zoë","productName":"tête-à-tête 🚲"}]');
    const frames = ['s1', 'ß2'].map((sub) =>
      EncodedFrame.spliced(
        `{"type":"snapshot","sub":"${sub}","rows":`,
        middle,
        ',"cursor":"é.1-0","done":true}',
      ),
    );
    for (const frame of frames) {
      const whole = new EncodedFrame(frame.text);
      expect(frame.bytes).toEqual(whole.bytes);
      expect(JSON.parse(new TextDecoder().decode(frame.bytes))).toEqual(JSON.parse(frame.text));
    }
    expect(frames[1]?.text).toBe(
      '{"type":"snapshot","sub":"ß2","rows":[{"customerName":"Zoë","productName":"tête-à-tête 🚲"}],"cursor":"é.1-0","done":true}',
    );
    // The middle is encoded once and shared.
    expect(frames[0]?.bytes).not.toBe(middle.bytes);
    expect(middle.bytes).toBe(middle.bytes);
  });
});
