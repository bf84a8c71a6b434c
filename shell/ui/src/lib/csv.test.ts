//! RFC 4180 quoting and the data-URL decoding used by exports.
import { csvField, dataUrlBytes, toCsv } from './csv';

describe('csv', () => {
  it('quotes only fields that need it, doubling quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField(null)).toBe('');
    expect(csvField(3.5)).toBe('3.5');
    expect(csvField(false)).toBe('false');
  });

  it('writes a header and CRLF-terminated records', () => {
    expect(toCsv(['a', 'b,c'], [[1, 'x'], [null, '"']])).toBe('a,"b,c"\r\n1,x\r\n,""""\r\n');
  });

  it('decodes base64 data URLs', () => {
    expect(Array.from(dataUrlBytes('data:image/png;base64,AAEC'))).toEqual([0, 1, 2]);
  });
});
