/**
 * Process settings msgpackr reads when it loads; imported before msgpackr. Its native string
 * decoder costs a native call per string, which for the small records of a network buffer is
 * about twice as slow as its JS decoder (measured on the keyed-exchange benchmark), so the JS
 * decoder is the default unless the user decided otherwise (re-measured 2026-12: 200k small
 * records unpacked one by one, best of 7: JS 38-69 ms, native 76-126 ms).
 */
process.env['MSGPACKR_NATIVE_ACCELERATION_DISABLED'] ??= 'true';
